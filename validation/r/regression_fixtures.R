# regression_fixtures.R -- R oracle for alsmeta's meta-regression (rma with moderators),
# anova() LRTs, permutest() and subgroup analyses.
#
# Run from the repository root:
#     Rscript validation/r/regression_fixtures.R
# Writes tests/fixtures/regression_reference.json.  Needs R (tested: 4.2.2) with metafor (tested:
# 3.8-1) and jsonlite.  Deterministic (every family has its own set.seed; the approximate
# permutation tests record the set.seed() issued right before them), runs in ~1 minute.
#
# Every case is ONE mixed-/equal-effects meta-regression fitted with
#     res <- rma(yi, vi, mods=<r_mods>, data=dat, method=..., test=..., level=..., [control=...])
# followed by predict(res, newmods=<matrix>) and, for ML fits, anova(res, res0) against the
# intercept-only ML model.  The exact R calls are stored verbatim in the case's "call" field (the
# script builds each call as a string and evaluates exactly that string).  `dat` is the case's
# "data" object as a data.frame (character columns become factors via factor() in r_mods).
#
# "mods" is the same model in Python formula syntax (formulaic/patsy): C(x) = factor with
# treatment coding and reference = first sorted level, which is also R's default for factor()
# of a character vector.  "terms" are metafor's coefficient names (rownames(res$beta)).
# predict.newmods rows are exactly the rows passed to predict(newmods=): one value per
# non-intercept column of the model matrix, in the order of terms[-1] (metafor adds the 1).
#
# Convergence control: as in rma_fixtures.R, only the options a method reads are passed:
#   ML, REML : list(threshold=1e-12, maxiter=10000, stepadj=0.5, tol=1e-12)
#   PM       : list(tol=1e-12, maxiter=10000)
#   EE, DL, HE, SJ : none (closed form)
# For ML/REML/PM the fit is repeated with metafor's default control (stored in
# "default_control"; a note is added when tau2 differs by more than max(1e-6, 1e-3*tau2)).
#
# Numbers: every double is written with sprintf("%.17g") (exact round trip; jsonlite's
# digits=NA keeps only 15 significant digits) and inserted verbatim.  NA/NaN/+-Inf -> null; the
# non-finite ones are additionally listed in expected$nonfinite (field -> tag or list of tags).

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

t_start <- proc.time()[["elapsed"]]
out_file <- "tests/fixtures/regression_reference.json"

# ------------------------------------------------------------------ JSON number helpers ----
# fmt1, jnum, jvec, jmat, jnull, emptyobj, run_captured: validation/r/common.R
local({f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))   # common.R
       source(file.path(if (length(f)) dirname(gsub("~+~", " ", f[[1]], fixed = TRUE))
                        else file.path("validation", "r"), "common.R"))})
nf_tag1 <- function(x) {
  if (is.null(x) || length(x) != 1L || is.na(x) && !is.nan(x)) return(NA_character_)
  if (is.nan(x)) return("NaN")
  if (is.infinite(x)) return(if (x > 0) "Inf" else "-Inf")
  NA_character_
}
# tags for a scalar or vector field; NULL when everything is finite or NA
nonfinite_tags <- function(x) {
  if (is.null(x) || !is.numeric(x) || length(x) == 0L) return(NULL)
  tg <- vapply(as.numeric(x), nf_tag1, "")
  if (all(is.na(tg))) return(NULL)
  if (length(x) == 1L) return(tg[[1]])
  I(tg)    # NA entries -> null
}

# ------------------------------------------------------------------ settings ---------------
ITERATIVE <- c("ML", "REML", "PM")
control_string <- function(method) {
  switch(method,
         ML = , REML = "list(threshold=1e-12, maxiter=10000, stepadj=0.5, tol=1e-12)",
         PM = "list(tol=1e-12, maxiter=10000)",
         NULL)
}

rma_call_string <- function(r_mods, method, test, level, control) {
  paste0("rma(yi, vi",
         if (!is.null(r_mods)) paste0(", mods=", r_mods) else "",
         ", data=dat, method='", method, "', test='", test, "', level=", level,
         if (!is.null(control)) paste0(", control=", control) else "",
         ")")
}

# R literal for a numeric matrix (rows = new moderator rows), exactly representable
mat_literal <- function(m) {
  m <- as.matrix(m)
  paste0("rbind(", paste(vapply(seq_len(nrow(m)), function(i)
    paste0("c(", paste(vapply(m[i, ], function(v) sprintf("%.17g", v), ""), collapse = ", "), ")"),
    ""), collapse = ", "), ")")
}

data_json <- function(dat) {
  out <- list()
  for (nm in names(dat)) {
    v <- dat[[nm]]
    out[[nm]] <- if (is.character(v)) I(v) else jvec(v)
  }
  out
}

fit_stats_json <- function(fs) {
  # fs: named numeric vector ll, dev, AIC, BIC, AICc
  list(ll = jnum(fs[["ll"]]), dev = jnum(fs[["dev"]]), AIC = jnum(fs[["AIC"]]),
       BIC = jnum(fs[["BIC"]]), AICc = jnum(fs[["AICc"]]))
}

# ------------------------------------------------------------------ one case ---------------
cases <- list()
add_case <- function(case) cases[[length(cases) + 1L]] <<- case

# perm: NULL, list(type="exact") or list(type="approx", iter=1000, seed=<int>)
fit_reg <- function(name, family, dat, mods, r_mods, method, test, level = 95, newmods = NULL,
                    notes = character(0), perm = NULL, data_source = NULL) {
  env <- new.env(parent = globalenv())
  env$dat <- dat
  ctrl <- control_string(method)
  rma_str <- rma_call_string(r_mods, method, test, level, ctrl)
  fit <- run_captured(paste0("res <- ", rma_str), env)

  case <- list(name = name, family = family, call = NULL, method = method, test = test,
               level = level / 100, mods = mods, r_mods = if (is.null(r_mods)) "~ 1" else r_mods,
               control = if (is.null(ctrl)) NULL else ctrl, data = data_json(dat))
  if (!is.null(data_source)) case$data_source <- data_source

  # requested model-matrix columns (to report which ones metafor dropped)
  requested <- NULL
  if (!is.null(r_mods)) {
    mm <- try(model.matrix(as.formula(r_mods), data = dat), silent = TRUE)
    if (!inherits(mm, "try-error")) {
      requested <- colnames(mm)
      requested[requested == "(Intercept)"] <- "intrcpt"
    }
  }

  default_control <- NULL
  if (method %in% ITERATIVE) {
    dstr <- rma_call_string(r_mods, method, test, level, NULL)
    d <- run_captured(dstr, env)
    default_control <- list(call = dstr)
    if (!is.null(d$error)) {
      default_control$error <- d$error
      if (is.null(fit$error))
        notes <- c(notes, paste0("metafor default control errors: '", d$error, "'"))
    } else {
      default_control$tau2 <- jnum(d$value$tau2)
      default_control$estimate <- jvec(c(d$value$beta))
      if (length(d$warnings)) default_control$warnings <- I(d$warnings)
      if (is.null(fit$error)) {
        t_tight <- fit$value$tau2
        if (abs(d$value$tau2 - t_tight) > max(1e-6, 1e-3 * abs(t_tight)))
          notes <- c(notes, sprintf("metafor default control gives tau2 = %.10g (tight: %.10g)",
                                    d$value$tau2, t_tight))
      }
    }
  }

  if (!is.null(fit$error)) {
    case$call <- paste0("res <- ", rma_str)
    case$error <- fit$error
    if (length(fit$warnings)) case$warnings <- I(fit$warnings)
    if (!is.null(requested)) case$requested_terms <- I(requested)
    if (!is.null(default_control)) case$default_control <- default_control
    if (length(notes)) case$notes <- I(notes)
    add_case(case)
    return(invisible(case))
  }

  res <- env$res
  warns <- fit$warnings
  calls <- paste0("res <- ", rma_str)
  if (method %in% c("ML", "REML") && res$tau2 > 0 && res$tau2 < 1e-10)
    notes <- c(notes, paste0("tau2 at the boundary: metafor's step-halving Fisher scoring stops at a ",
                             "tiny positive tau2 although the maximiser is 0 (compare tau2 with an ",
                             "absolute tolerance)"))
  terms <- rownames(res$beta)

  ex <- list(
    k = res$k, p = res$p,
    terms = I(terms),
    method_fitted = res$method, test_fitted = res$test,
    estimate = jvec(c(res$beta)), se = jvec(res$se), statistic = jvec(res$zval),
    p_value = jvec(res$pval), ci_lower = jvec(res$ci.lb), ci_upper = jvec(res$ci.ub),
    tau2 = jnum(res$tau2), tau2_se = jnum(res$se.tau2),
    i2 = jnum(res$I2), h2 = jnum(res$H2),
    r2 = if (is.null(res$R2)) jnull else jnum(res$R2),
    qm = jnum(res$QM), qm_df = jvec(res$QMdf), qm_p_value = jnum(res$QMp),
    qe = jnum(res$QE), qe_df = res$k - res$p, qe_p_value = jnum(res$QEp),
    ll = jnum(c(logLik(res))),
    ll_ml = jnum(res$fit.stats["ll", "ML"]), ll_reml = jnum(res$fit.stats["ll", "REML"]),
    fit_stats = list(ML = fit_stats_json(setNames(res$fit.stats$ML, rownames(res$fit.stats))),
                     REML = fit_stats_json(setNames(res$fit.stats$REML, rownames(res$fit.stats)))),
    parms = res$parms,
    ddf = jnum(res$ddf), s2w = jnum(res$s2w),
    vcov = jmat(vcov(res)),
    hat = jvec(hatvalues(res)),
    fitted = jvec(fitted(res)),
    weights = jvec(weights(res))
  )
  if (!is.null(requested)) {
    dropped <- setdiff(requested, terms)
    ex$requested_terms <- I(requested)
    ex$dropped_terms <- I(dropped)
  }

  # predictions for new moderator values
  if (!is.null(newmods)) {
    nm_str <- mat_literal(newmods)
    pstr <- paste0("pr <- predict(res, newmods=", nm_str, ")")
    pr <- run_captured(pstr, env)
    calls <- c(calls, pstr)
    warns <- c(warns, pr$warnings)
    if (is.null(pr$error)) {
      p <- pr$value
      ex$predict <- list(newmods = jmat(newmods), pred = jvec(p$pred), se = jvec(p$se),
                         ci_lower = jvec(p$ci.lb), ci_upper = jvec(p$ci.ub),
                         pi_lower = if (is.null(p$pi.lb)) jnull else jvec(p$pi.lb),
                         pi_upper = if (is.null(p$pi.ub)) jnull else jvec(p$pi.ub),
                         ddf = if (is.null(p$ddf)) jnull else jvec(p$ddf),
                         pi_ddf = if (is.null(p$pi.ddf)) jnull else jvec(p$pi.ddf))
    } else {
      ex$predict <- list(newmods = jmat(newmods), error = pr$error)
    }
  }

  # LRT against the intercept-only ML model
  if (method == "ML" && !res$int.only) {
    s0 <- paste0("res0 <- ", rma_call_string(NULL, "ML", test, level, ctrl))
    a0 <- run_captured(s0, env)
    astr <- "an <- anova(res, res0)"
    if (is.null(a0$error)) {
      an <- run_captured(astr, env)
      calls <- c(calls, s0, astr)
      if (is.null(an$error)) {
        a <- an$value
        ex$anova <- list(LRT = jnum(a$LRT), df = a$parms.f - a$parms.r, p_value = jnum(a$pval),
                         parms_full = a$parms.f, parms_reduced = a$parms.r,
                         full = fit_stats_json(a$fit.stats.f), reduced = fit_stats_json(a$fit.stats.r),
                         tau2_full = jnum(a$tau2.f), tau2_reduced = jnum(a$tau2.r),
                         qe_full = jnum(a$QE.f), qe_reduced = jnum(a$QE.r), r2 = jnum(a$R2),
                         warnings = I(c(a0$warnings, an$warnings)))
      } else ex$anova <- list(error = an$error)
    } else ex$anova <- list(error = paste0("reduced model: ", a0$error))
  }

  # permutation tests
  if (!is.null(perm)) {
    if (perm$type == "exact") {
      pstr <- "pt <- permutest(res, exact=TRUE, progbar=FALSE)"
    } else {
      pstr <- sprintf("set.seed(%d); pt <- permutest(res, iter=%d, progbar=FALSE)", perm$seed, perm$iter)
    }
    pt <- run_captured(pstr, env)
    calls <- c(calls, pstr)
    if (is.null(pt$error)) {
      v <- pt$value
      ex$permutest <- list(call = pstr, exact = perm$type == "exact",
                           iterations = if (perm$type == "exact") v$exact.iter else perm$iter,
                           exact_iterations = jnum(v$exact.iter),
                           seed = if (perm$type == "exact") NULL else perm$seed,
                           qm = jnum(v$QM), qm_p_value = jnum(v$QMp), p_value = jvec(v$pval),
                           n_failed_fits = sum(is.na(v$QM.perm)),
                           warnings = I(pt$warnings))
    } else ex$permutest <- list(call = pstr, error = pt$error)
  }

  nf <- list()
  for (f in c("estimate", "se", "statistic", "p_value", "ci_lower", "ci_upper", "tau2", "i2",
              "h2", "qm", "qm_p_value", "qe", "qe_p_value")) {
    v <- switch(f, estimate = c(res$beta), se = res$se, statistic = res$zval, p_value = res$pval,
                ci_lower = res$ci.lb, ci_upper = res$ci.ub, tau2 = res$tau2, i2 = res$I2,
                h2 = res$H2, qm = res$QM, qm_p_value = res$QMp, qe = res$QE, qe_p_value = res$QEp)
    tg <- nonfinite_tags(v)
    if (!is.null(tg)) nf[[f]] <- tg
  }
  if (length(nf)) ex$nonfinite <- nf
  ex$warnings <- I(warns)

  case$call <- paste(calls, collapse = "; ")
  case$expected <- ex
  if (!is.null(default_control)) case$default_control <- default_control
  if (length(notes)) case$notes <- I(notes)
  add_case(case)
  invisible(case)
}

# ================================================================== 1. BCG ==================
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
bcg_src <- "escalc(measure='RR', ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)"
bcg_dat <- data.frame(yi = c(bcg$yi), vi = c(bcg$vi), ablat = as.numeric(bcg$ablat),
                      year = as.numeric(bcg$year), alloc = as.character(bcg$alloc),
                      stringsAsFactors = FALSE)
BCG_MODELS <- list(
  ablat = list(mods = "ablat", r_mods = "~ ablat", newmods = rbind(10, 33.5, 55)),
  year = list(mods = "year", r_mods = "~ year", newmods = rbind(1950, 1965, 1980)),
  alloc = list(mods = "C(alloc)", r_mods = "~ factor(alloc)",
               newmods = rbind(c(0, 0), c(1, 0), c(0, 1))),
  alloc_ablat = list(mods = "C(alloc) + ablat", r_mods = "~ factor(alloc) + ablat",
                     newmods = rbind(c(0, 0, 20), c(1, 0, 40), c(0, 1, 33.5))),
  ablat_year = list(mods = "ablat + year", r_mods = "~ ablat + year",
                    newmods = rbind(c(20, 1950), c(40, 1970), c(50, 1980)))
)
BCG_METHODS <- c("EE", "DL", "ML", "REML", "PM", "HE", "SJ")
for (mn in names(BCG_MODELS)) {
  mdl <- BCG_MODELS[[mn]]
  for (m in BCG_METHODS) for (tt in c("z", "knha")) {
    perm <- NULL
    if (mn == "ablat" && m == "REML" && tt == "z")
      perm <- list(type = "approx", iter = 1000, seed = 1001L)
    if (mn == "alloc_ablat" && m == "DL" && tt == "knha")
      perm <- list(type = "approx", iter = 1000, seed = 1002L)
    fit_reg(paste0("bcg_", mn, "_", m, "_", tt), "bcg", bcg_dat, mdl$mods, mdl$r_mods, m, tt,
            newmods = mdl$newmods, perm = perm, data_source = bcg_src)
  }
  if (mn %in% c("ablat", "alloc_ablat"))
    for (m in c("DL", "REML", "PM")) for (tt in c("adhoc", "t"))
      fit_reg(paste0("bcg_", mn, "_", m, "_", tt), "bcg", bcg_dat, mdl$mods, mdl$r_mods, m, tt,
              newmods = mdl$newmods, data_source = bcg_src)
}
for (m in c("DL", "REML")) for (tt in c("z", "knha"))
  fit_reg(paste0("bcg_alloc_ablat_", m, "_", tt, "_L90"), "bcg", bcg_dat,
          BCG_MODELS$alloc_ablat$mods, BCG_MODELS$alloc_ablat$r_mods, m, tt, level = 90,
          newmods = BCG_MODELS$alloc_ablat$newmods, data_source = bcg_src)

# ================================================================== 2. random ===============
ROUTES <- c("intrathecal", "intramuscular", "intravenous")   # sorted: intramuscular is reference
RANDOM_MODS <- "C(route) + followup"
RANDOM_RMODS <- "~ factor(route) + followup"
RANDOM_NEWMODS <- rbind(c(0, 0, 6), c(1, 0, 12), c(0, 1, 24))
RANDOM_METHODS <- c("REML", "ML", "DL", "PM", "EE")
TAU2_SET <- c(0, 0.05, 0.3)

# route with every level at least `min_each` times, in random order
draw_route <- function(k, min_each = if (k >= 6) 2 else 1) {
  r <- c(rep(ROUTES, each = min_each), sample(ROUTES, k - 3 * min_each, replace = TRUE))
  sample(r)
}
sim_data <- function(k, tau2, b, route = draw_route(k), vi_range = c(0.01, 0.3)) {
  followup <- round(runif(k, 1, 36), 1)
  vi <- exp(runif(k, log(vi_range[1]), log(vi_range[2])))
  Xd <- cbind(1, route == "intrathecal", route == "intravenous", followup)
  yi <- c(Xd %*% b) + rnorm(k, 0, sqrt(tau2 + vi))
  data.frame(yi = yi, vi = vi, route = route, followup = followup, stringsAsFactors = FALSE)
}
draw_b <- function() c(rnorm(1, 0, 0.5), rnorm(2, 0, 0.4), rnorm(1, 0, 0.02))

set.seed(20240601)
N_RANDOM <- 130
K_CHOICES <- c(6:12, 14, 16, 18, 20, 24, 28, 32, 36, 40)
for (i in seq_len(N_RANDOM)) {
  k <- sample(K_CHOICES, 1)
  tau2 <- sample(TAU2_SET, 1)
  b <- draw_b()
  dat <- sim_data(k, tau2, b)
  m <- RANDOM_METHODS[(i - 1) %% 5 + 1]
  tt <- c("z", "knha")[((i - 1) %/% 5) %% 2 + 1]
  perm <- NULL
  if (i %in% c(3L, 17L, 44L)) perm <- list(type = "approx", iter = 1000, seed = 2000L + i)
  fit_reg(sprintf("random_%03d_k%d_%s_%s", i, k, m, tt), "random", dat, RANDOM_MODS,
          RANDOM_RMODS, m, tt, newmods = RANDOM_NEWMODS, perm = perm,
          notes = sprintf("simulated: true tau2 = %g, beta = (%s)", tau2,
                          paste(sprintf("%.6g", b), collapse = ", ")))
}

# exact permutation tests on small datasets (k <= 7)
set.seed(20240602)
PERM_SPECS <- list(
  # intercept-only: 2^k sign flips
  list(kind = "int", k = 5, m = "REML", tt = "z"), list(kind = "int", k = 6, m = "DL", tt = "knha"),
  list(kind = "int", k = 7, m = "EE", tt = "z"), list(kind = "int", k = 7, m = "PM", tt = "knha"),
  list(kind = "int", k = 6, m = "ML", tt = "z"),
  # factor only: k! / prod(n_level!) distinct permutations of the model-matrix rows
  list(kind = "fac", k = 6, m = "REML", tt = "z"), list(kind = "fac", k = 6, m = "DL", tt = "knha"),
  list(kind = "fac", k = 7, m = "ML", tt = "z"), list(kind = "fac", k = 7, m = "EE", tt = "knha"),
  list(kind = "fac", k = 7, m = "PM", tt = "z"), list(kind = "fac", k = 6, m = "REML", tt = "knha"),
  # factor + continuous: all rows distinct -> k! = 720 permutations
  list(kind = "full", k = 6, m = "REML", tt = "knha"), list(kind = "full", k = 6, m = "DL", tt = "z"),
  list(kind = "full", k = 6, m = "EE", tt = "z"), list(kind = "full", k = 6, m = "ML", tt = "knha")
)
for (j in seq_along(PERM_SPECS)) {
  s <- PERM_SPECS[[j]]
  b <- draw_b(); tau2 <- sample(TAU2_SET, 1)
  dat <- sim_data(s$k, tau2, b)
  nt <- sprintf("simulated: true tau2 = %g, beta = (%s)", tau2, paste(sprintf("%.6g", b), collapse = ", "))
  if (s$kind == "int") {
    fit_reg(sprintf("random_perm%02d_int_k%d_%s_%s", j, s$k, s$m, s$tt), "random",
            dat[, c("yi", "vi")], "1", NULL, s$m, s$tt, perm = list(type = "exact"),
            notes = c(nt, "intercept-only model (mods '1'); permutest flips signs of yi"))
  } else if (s$kind == "fac") {
    fit_reg(sprintf("random_perm%02d_fac_k%d_%s_%s", j, s$k, s$m, s$tt), "random",
            dat[, c("yi", "vi", "route")], "C(route)", "~ factor(route)", s$m, s$tt,
            newmods = rbind(c(0, 0), c(1, 0), c(0, 1)), perm = list(type = "exact"), notes = nt)
  } else {
    fit_reg(sprintf("random_perm%02d_full_k%d_%s_%s", j, s$k, s$m, s$tt), "random", dat,
            RANDOM_MODS, RANDOM_RMODS, s$m, s$tt, newmods = RANDOM_NEWMODS,
            perm = list(type = "exact"), notes = nt)
  }
}

# ================================================================== 3. boundary =============
set.seed(20240603)
BMETH <- c("REML", "ML", "DL", "PM", "EE")
# (a) tau2 estimated 0: residuals shrunk to 0.3 sampling SDs -> QE far below k - p
k <- 12
route <- draw_route(k)
followup <- round(runif(k, 1, 36), 1)
vi <- exp(runif(k, log(0.02), log(0.2)))
Xd <- cbind(1, route == "intrathecal", route == "intravenous", followup)
yi <- c(Xd %*% c(0.3, -0.2, 0.4, 0.01)) + 0.3 * rnorm(k, 0, sqrt(vi))
dat_t0 <- data.frame(yi = yi, vi = vi, route = route, followup = followup, stringsAsFactors = FALSE)
for (m in c(BMETH, "HE")) for (tt in c("z", "knha"))
  fit_reg(paste0("boundary_tau2zero_", m, "_", tt), "boundary", dat_t0, RANDOM_MODS, RANDOM_RMODS,
          m, tt, newmods = RANDOM_NEWMODS, notes = "residual heterogeneity far below k-p: tau2 -> 0")
# (b) a factor level with a single study (hat value 1 for that study)
k <- 9
route <- sample(c(rep("intrathecal", 4), rep("intramuscular", 4), "intravenous"))
dat_s1 <- sim_data(k, 0.05, c(0.2, 0.3, -0.4, 0.01), route = route)
for (m in BMETH) for (tt in c("z", "knha"))
  fit_reg(paste0("boundary_singlelevel_", m, "_", tt), "boundary", dat_s1, RANDOM_MODS, RANDOM_RMODS,
          m, tt, newmods = RANDOM_NEWMODS, notes = "level 'intravenous' has a single study")
# (c) perfect fit: yi exactly on the regression plane (dyadic coefficients, integer followup)
k <- 10
route <- draw_route(k)
followup <- sample(1:36, k)
vi <- exp(runif(k, log(0.02), log(0.2)))
Xd <- cbind(1, route == "intrathecal", route == "intravenous", followup)
yi <- c(Xd %*% c(0.25, 0.5, -0.25, 0.125))
dat_pf <- data.frame(yi = yi, vi = vi, route = route, followup = followup, stringsAsFactors = FALSE)
for (m in c("REML", "DL", "EE", "PM")) for (tt in c("z", "knha", "adhoc"))
  fit_reg(paste0("boundary_perfectfit_", m, "_", tt), "boundary", dat_pf, RANDOM_MODS, RANDOM_RMODS,
          m, tt, newmods = RANDOM_NEWMODS,
          notes = "yi = X beta exactly (QE ~ 0 up to rounding); knha: s2w ~ 0")
# (d) saturated: k = p (EE fits with QE df 0; random-effects methods need p + 1 <= k)
dat_sat <- dat_pf[c(1, 2, 3, 4), ]
dat_sat$route <- c("intrathecal", "intramuscular", "intravenous", "intramuscular")
dat_sat$yi <- dat_sat$yi + c(0.1, -0.05, 0.02, 0.07)
for (m in c("EE", "REML", "DL")) for (tt in c("z", "knha"))
  fit_reg(paste0("boundary_saturated_k4_", m, "_", tt), "boundary", dat_sat, RANDOM_MODS,
          RANDOM_RMODS, m, tt, notes = "k = p = 4")
# (e) p + 1 = k: the largest model random-effects methods accept
dat_p1 <- sim_data(5, 0.05, c(0.2, 0.3, -0.4, 0.01),
                   route = c("intrathecal", "intramuscular", "intravenous", "intramuscular", "intravenous"))
for (m in c("REML", "ML", "DL", "PM", "HE", "SJ")) for (tt in c("z", "knha"))
  fit_reg(paste0("boundary_k5p4_", m, "_", tt), "boundary", dat_p1, RANDOM_MODS, RANDOM_RMODS, m, tt,
          newmods = RANDOM_NEWMODS, notes = "k = 5, p = 4 (QE df = 1)")
# (f) errors and dropped predictors
dat_k3 <- sim_data(3, 0.05, c(0.2, 0.3, -0.4, 0.01),
                   route = c("intrathecal", "intramuscular", "intravenous"))
for (m in c("EE", "REML", "DL"))
  fit_reg(paste0("boundary_pgtk_", m), "boundary", dat_k3, RANDOM_MODS, RANDOM_RMODS, m, "z",
          notes = "k = 3 < p = 4: more coefficients than studies")
dat_col <- sim_data(10, 0.05, c(0.2, 0.3, -0.4, 0.01))
dat_col$followup2 <- 2 * dat_col$followup
for (m in c("REML", "DL", "EE"))
  fit_reg(paste0("boundary_collinear_", m), "boundary", dat_col, "C(route) + followup + followup2",
          "~ factor(route) + followup + followup2", m, "z", newmods = RANDOM_NEWMODS,
          notes = "followup2 = 2 * followup: metafor drops the redundant column (see dropped_terms)")
dat_col2 <- dat_col[, c("yi", "vi", "route", "followup")]
dat_col2$iv <- as.numeric(dat_col2$route == "intravenous")
for (m in c("REML", "DL"))
  fit_reg(paste0("boundary_collinear_dummy_", m), "boundary", dat_col2, "C(route) + iv + followup",
          "~ factor(route) + iv + followup", m, "z", newmods = RANDOM_NEWMODS,
          notes = "iv duplicates the factor(route)intravenous dummy")
dat_const <- dat_col[, c("yi", "vi", "followup")]
dat_const$dose <- 12
for (m in c("REML", "DL"))
  fit_reg(paste0("boundary_constant_", m), "boundary", dat_const, "dose", "~ dose", m, "z",
          notes = "constant moderator (collinear with the intercept)")
for (m in c("REML", "DL"))
  fit_reg(paste0("boundary_constant_plus_", m), "boundary", dat_const, "followup + dose",
          "~ followup + dose", m, "z", newmods = rbind(6, 24),
          notes = "constant moderator next to a continuous one")
dat_one <- dat_col[, c("yi", "vi")]
dat_one$route <- "intravenous"
fit_reg("boundary_error_onelevel_REML", "boundary", dat_one, "C(route)", "~ factor(route)", "REML", "z",
        notes = "factor with a single level")

# ================================================================== 4. subgroups ============
subgroups <- list()
add_sub <- function(x) subgroups[[length(subgroups) + 1L]] <<- x

sub_case <- function(name, family, dat, gvar, method, test = "z", data_source = NULL) {
  env <- new.env(parent = globalenv())
  env$dat <- dat
  ctrl <- control_string(method)
  ctl <- if (is.null(ctrl)) "" else paste0(", control=", ctrl)
  levs <- sort(unique(dat[[gvar]]))
  calls <- list(); warns <- list()
  # separate tau2 per subgroup
  sep <- list(level = I(levs), k = integer(0))
  sep_fields <- c("estimate", "se", "statistic", "p_value", "ci_lower", "ci_upper", "tau2", "i2",
                  "h2", "q", "q_p_value")
  vals <- setNames(lapply(sep_fields, function(f) numeric(0)), sep_fields)
  sep_calls <- character(0); sep_warn <- list()
  for (lv in levs) {
    s <- sprintf("rma(yi, vi, data=dat, subset=%s=='%s', method='%s', test='%s'%s)",
                 gvar, lv, method, test, ctl)
    sep_calls <- c(sep_calls, s)
    r <- run_captured(s, env)
    if (!is.null(r$error)) stop(paste(name, lv, r$error))
    v <- r$value
    sep$k <- c(sep$k, v$k)
    vals$estimate <- c(vals$estimate, c(v$beta)); vals$se <- c(vals$se, v$se)
    vals$statistic <- c(vals$statistic, v$zval); vals$p_value <- c(vals$p_value, v$pval)
    vals$ci_lower <- c(vals$ci_lower, v$ci.lb); vals$ci_upper <- c(vals$ci_upper, v$ci.ub)
    vals$tau2 <- c(vals$tau2, v$tau2); vals$i2 <- c(vals$i2, v$I2); vals$h2 <- c(vals$h2, v$H2)
    vals$q <- c(vals$q, v$QE); vals$q_p_value <- c(vals$q_p_value, v$QEp)
    if (length(r$warnings)) sep_warn[[lv]] <- I(r$warnings)
  }
  for (f in sep_fields) sep[[f]] <- jvec(vals[[f]])
  sep$q_df <- jvec(sep$k - 1)
  sep$warnings <- if (length(sep_warn)) sep_warn else emptyobj()
  sep$calls <- I(sep_calls)
  env$est <- vals$estimate; env$se <- vals$se; env$level <- levs
  tstr <- "rma(yi=est, sei=se, mods=~factor(level), method='EE')"
  tr <- run_captured(tstr, env)
  if (!is.null(tr$error)) stop(paste(name, tr$error))
  tv <- tr$value
  sep$test <- list(call = tstr, qm = jnum(tv$QM), qm_df = tv$QMdf[1], qm_p_value = jnum(tv$QMp),
                   qe = jnum(tv$QE), qe_df = tv$k - tv$p, qe_p_value = jnum(tv$QEp),
                   warnings = I(tr$warnings))
  # common tau2
  cstr <- sprintf("rma(yi, vi, mods=~factor(%s), data=dat, method='%s', test='%s'%s)",
                  gvar, method, test, ctl)
  cr <- run_captured(cstr, env)
  if (!is.null(cr$error)) stop(paste(name, cr$error))
  cv <- cr$value
  cmstr <- sprintf("rma(yi, vi, mods=~factor(%s)-1, data=dat, method='%s', test='%s'%s)",
                   gvar, method, test, ctl)
  cm <- run_captured(cmstr, env)
  if (!is.null(cm$error)) stop(paste(name, cm$error))
  cmv <- cm$value
  common <- list(call = cstr, terms = I(rownames(cv$beta)), estimate = jvec(c(cv$beta)),
                 se = jvec(cv$se), qm = jnum(cv$QM), qm_df = jvec(cv$QMdf), qm_p_value = jnum(cv$QMp),
                 qe = jnum(cv$QE), qe_df = cv$k - cv$p, qe_p_value = jnum(cv$QEp),
                 tau2 = jnum(cv$tau2), i2 = jnum(cv$I2), r2 = if (is.null(cv$R2)) jnull else jnum(cv$R2),
                 warnings = I(cr$warnings),
                 cellmeans = list(call = cmstr, terms = I(rownames(cmv$beta)),
                                  level = I(levs),
                                  estimate = jvec(c(cmv$beta)), se = jvec(cmv$se),
                                  statistic = jvec(cmv$zval), p_value = jvec(cmv$pval),
                                  ci_lower = jvec(cmv$ci.lb), ci_upper = jvec(cmv$ci.ub),
                                  tau2 = jnum(cmv$tau2), qm = jnum(cmv$QM), qm_df = jvec(cmv$QMdf),
                                  qm_p_value = jnum(cmv$QMp), warnings = I(cm$warnings)))
  ostr <- sprintf("rma(yi, vi, data=dat, method='%s', test='%s'%s)", method, test, ctl)
  or <- run_captured(ostr, env)
  if (!is.null(or$error)) stop(paste(name, or$error))
  ov <- or$value
  overall <- list(call = ostr, k = ov$k, estimate = jnum(c(ov$beta)), se = jnum(ov$se),
                  statistic = jnum(ov$zval), p_value = jnum(ov$pval),
                  ci_lower = jnum(ov$ci.lb), ci_upper = jnum(ov$ci.ub), tau2 = jnum(ov$tau2),
                  i2 = jnum(ov$I2), h2 = jnum(ov$H2), q = jnum(ov$QE), q_p_value = jnum(ov$QEp),
                  warnings = I(or$warnings))
  dj <- data_json(dat[, c("yi", "vi", gvar)])
  x <- list(name = name, family = family, method = method, test = test, group = gvar,
            control = if (is.null(ctrl)) NULL else ctrl, data = dj,
            expected = list(levels = I(levs), separate = sep, common = common, overall = overall))
  if (!is.null(data_source)) x$data_source <- data_source
  add_sub(x)
}

for (m in c("REML", "DL")) for (tt in c("z", "knha"))
  sub_case(paste0("bcg_alloc_", m, "_", tt), "bcg", bcg_dat, "alloc", m, tt, data_source = bcg_src)
set.seed(20240604)
for (i in 1:30) {
  k <- sample(c(7:12, 15, 18, 22, 26, 30, 35, 40), 1)
  tau2 <- sample(TAU2_SET, 1)
  b <- c(rnorm(1, 0, 0.5), rnorm(2, 0, 0.4), 0)
  dat <- sim_data(k, tau2, b)[, c("yi", "vi", "route")]
  for (m in c("REML", "DL"))
    sub_case(sprintf("random_%02d_k%d_%s", i, k, m), "random", dat, "route", m, "z")
}

# ================================================================== write ===================
stopifnot(!anyDuplicated(vapply(cases, `[[`, "", "name")))
stopifnot(!anyDuplicated(vapply(subgroups, `[[`, "", "name")))
out <- list(
  generator = "validation/r/regression_fixtures.R",
  r_version = R.version.string,
  metafor_version = packageDescription("metafor")$Version,
  jsonlite_version = as.character(packageVersion("jsonlite")),
  created = as.character(Sys.Date()),
  number_format = "doubles printed with sprintf('%.17g') (exact round trip); NA/NaN/Inf -> null, see expected.nonfinite",
  controls = list(ML = control_string("ML"), REML = control_string("REML"),
                  PM = control_string("PM"), others = "none (closed-form estimators read no control option)"),
  cases = cases,
  subgroups = subgroups
)
dir.create(dirname(out_file), showWarnings = FALSE, recursive = TRUE)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, na = "null", null = "null",
                  json_verbatim = TRUE, pretty = FALSE), out_file)

# ================================================================== summary =================
fam <- vapply(cases, `[[`, "", "family")
met <- vapply(cases, `[[`, "", "method")
tst <- vapply(cases, `[[`, "", "test")
has_err <- vapply(cases, function(x) !is.null(x$error), TRUE)
cat(sprintf("wrote %s: %d cases + %d subgroup entries, %.1f kB, %.1f s\n", out_file, length(cases),
            length(subgroups), file.size(out_file) / 1024, proc.time()[["elapsed"]] - t_start))
cat("\ncases per family:\n"); print(table(fam))
cat("\nfamily x method x test:\n"); print(ftable(table(fam, met, tst)))
cat(sprintf("\ncases with an error: %d\n", sum(has_err)))
if (any(has_err)) for (x in cases[has_err]) cat("  ", x$name, ": ", x$error, "\n", sep = "")
cat("\nwarnings:\n")
wl <- unlist(lapply(cases, function(x) c(x$warnings, x$expected$warnings)))
print(sort(table(wl), decreasing = TRUE))
cat(sprintf("anova cases: %d; permutest cases: %d exact, %d approximate\n",
            sum(vapply(cases, function(x) !is.null(x$expected$anova), TRUE)),
            sum(vapply(cases, function(x) isTRUE(x$expected$permutest$exact), TRUE)),
            sum(vapply(cases, function(x) identical(x$expected$permutest$exact, FALSE), TRUE))))
dropped <- Filter(function(x) length(x$expected$dropped_terms) > 0, cases)
for (x in dropped) cat("  dropped in ", x$name, ": ", paste(x$expected$dropped_terms, collapse = ", "), "\n", sep = "")
nts <- Filter(function(x) any(grepl("default control", x$notes)), cases)
cat(sprintf("cases where metafor's default control differs materially: %d\n", length(nts)))
for (x in nts) cat("  ", x$name, ": ", paste(grep("default control", x$notes, value = TRUE), collapse = " | "), "\n", sep = "")
