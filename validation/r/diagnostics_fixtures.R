# diagnostics_fixtures.R -- R oracle for alsmeta's model diagnostics and small-study /
# publication-bias methods on intercept-only models: leave1out(), influence(), cumul(),
# baujat(), regtest(), ranktest(), trimfill(), PET/PEESE and fsn().
#
# Run from the repository root:
#     Rscript validation/r/diagnostics_fixtures.R
# Writes tests/fixtures/diagnostics_reference.json.  Needs R (tested: 4.2.2) with metafor
# (tested: 3.8-1) and jsonlite.  Deterministic (every family has its own set.seed; no function
# used here draws random numbers), runs in ~1.5 minutes.
#
# Every case fits ONE intercept-only model
#     res <- rma(yi, vi, ni=ni, data=dat, method=..., test=..., [control=...])
# (dat = the case's "data" object as a data.frame; ni is passed so that regtest() can use the
# sample-size predictors) and then applies every diagnostic to res.  The exact R calls are
# stored verbatim in expected.<block>.call (the script builds each call as a string and evaluates
# exactly that string).  All functions run with metafor's defaults unless stated in the call.
#
# Convergence control: ML/REML list(threshold=1e-12, maxiter=10000, stepadj=0.5, tol=1e-12),
# PM list(tol=1e-12, maxiter=10000); none for EE/DL.  leave1out/influence/cumul/baujat/regtest
# reuse res$control, so they inherit it.  trimfill() does NOT pass x$control (nor x$test,
# x$level) to its internal rma.uni() calls -- only its `...` -- so for ML/REML/PM the control is
# passed explicitly: trimfill(res, control=...).  When k0 > 0 the final trim-and-fill model is
# therefore a fresh test='z', level=95 fit to the augmented data; when k0 = 0 trimfill returns
# res itself (its own test/level).  test_fitted records which.  trimfill.L0_default_control
# holds the plain trimfill(res) result for comparison (iterative methods only).
#
# Numbers: every double is written with sprintf("%.17g") and inserted verbatim; NA/NaN/+-Inf ->
# null.  Fields metafor does not return (e.g. tau2 from leave1out() for EE models) are null.

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

t_start <- proc.time()[["elapsed"]]
out_file <- "tests/fixtures/diagnostics_reference.json"
pdf(NULL)   # baujat() draws a plot

# ------------------------------------------------------------------ JSON helpers -----------
# fmt1, jnum, jnull, emptyobj, run_captured: validation/r/common.R
local({f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))   # common.R
       source(file.path(if (length(f)) dirname(gsub("~+~", " ", f[[1]], fixed = TRUE))
                        else file.path("validation", "r"), "common.R"))})
# jvec: this script's own variant (null, not [], for NULL)
jvec <- function(x) {
  if (is.null(x)) return(structure("null", class = "json"))
  structure(paste0("[", paste(vapply(as.numeric(x), fmt1, ""), collapse = ","), "]"), class = "json")
}

ITERATIVE <- c("ML", "REML", "PM")
control_string <- function(method) {
  switch(method,
         ML = , REML = "list(threshold=1e-12, maxiter=10000, stepadj=0.5, tol=1e-12)",
         PM = "list(tol=1e-12, maxiter=10000)",
         NULL)
}

# ------------------------------------------------------------------ one case ---------------
cases <- list()
add_case <- function(case) cases[[length(cases) + 1L]] <<- case

diag_case <- function(name, family, dat, method, test = "z", notes = character(0),
                      data_source = NULL) {
  env <- new.env(parent = globalenv())
  env$dat <- dat
  ctrl <- control_string(method)
  ctl <- if (is.null(ctrl)) "" else paste0(", control=", ctrl)
  rma_str <- sprintf("res <- rma(yi, vi, ni=ni, data=dat, method='%s', test='%s'%s)", method, test, ctl)
  case <- list(name = name, family = family, method = method, test = test,
               control = if (is.null(ctrl)) NULL else ctrl, call = rma_str,
               data = list(yi = jvec(dat$yi), vi = jvec(dat$vi), ni = jvec(dat$ni), year = jvec(dat$year)))
  if (!is.null(data_source)) case$data_source <- data_source
  fit <- run_captured(rma_str, env)
  if (!is.null(fit$error)) {
    case$error <- fit$error
    add_case(case)
    return(invisible(case))
  }
  res <- env$res
  warns <- list()
  if (length(fit$warnings)) warns$fit <- I(fit$warnings)
  note_w <- function(block, w) if (length(w)) warns[[block]] <<- I(w)
  ex <- list(k = res$k, estimate = jnum(c(res$beta)), se = jnum(res$se), tau2 = jnum(res$tau2),
             q = jnum(res$QE), i2 = jnum(res$I2))

  # ---- leave1out
  s <- "l1 <- leave1out(res)"
  r <- run_captured(s, env); note_w("leave1out", r$warnings)
  if (is.null(r$error)) {
    v <- r$value
    ex$leave1out <- list(call = s, estimate = jvec(v$estimate), se = jvec(v$se),
                         statistic = jvec(if (!is.null(v$zval)) v$zval else v$tval),
                         p_value = jvec(v$pval), ci_lower = jvec(v$ci.lb), ci_upper = jvec(v$ci.ub),
                         q = jvec(v$Q), q_p_value = jvec(v$Qp), tau2 = jvec(v$tau2),
                         i2 = jvec(v$I2), h2 = jvec(v$H2))
  } else ex$leave1out <- list(call = s, error = r$error)

  # ---- influence
  s <- "inf <- influence(res)"
  r <- run_captured(s, env); note_w("influence", r$warnings)
  if (is.null(r$error)) {
    v <- r$value
    ex$influence <- list(call = s, rstudent = jvec(v$inf$rstudent), dffits = jvec(v$inf$dffits),
                         cook_d = jvec(v$inf$cook.d), cov_r = jvec(v$inf$cov.r),
                         tau2_del = jvec(v$inf$tau2.del), qe_del = jvec(v$inf$QE.del),
                         hat = jvec(v$inf$hat), weight = jvec(v$inf$weight),
                         dfbetas = jvec(v$dfbs[[1]]), inf = I(as.logical(v$is.infl)))
  } else ex$influence <- list(call = s, error = r$error)

  # ---- cumul (by year; ties keep input order: order() is stable)
  s <- "cu <- cumul(res, order=year)"
  r <- run_captured(s, env); note_w("cumul", r$warnings)
  if (is.null(r$error)) {
    v <- r$value
    ex$cumul <- list(call = s, order = "year", ids = I(as.integer(v$ids)),
                     index = I(as.integer(v$ids) - 1L),
                     estimate = jvec(v$estimate), se = jvec(v$se),
                     statistic = jvec(if (!is.null(v$zval)) v$zval else v$tval),
                     p_value = jvec(v$pvals), ci_lower = jvec(v$ci.lb), ci_upper = jvec(v$ci.ub),
                     q = jvec(v$Q), q_p_value = jvec(v$Qp), tau2 = jvec(v$tau2),
                     i2 = jvec(v$I2), h2 = jvec(v$H2))
  } else ex$cumul <- list(call = s, error = r$error)

  # ---- baujat
  s <- "bj <- baujat(res)"
  r <- run_captured(s, env); note_w("baujat", r$warnings)
  if (is.null(r$error)) {
    ex$baujat <- list(call = s, x = jvec(r$value$x), y = jvec(r$value$y))
  } else ex$baujat <- list(call = s, error = r$error)

  # ---- regtest: every model x predictor
  rt_all <- list()
  for (mdl in c("rma", "lm")) for (pr in c("sei", "vi", "ni", "ninv", "sqrtni", "sqrtninv")) {
    s <- sprintf("rt <- regtest(res, model='%s', predictor='%s')", mdl, pr)
    r <- run_captured(s, env)
    key <- paste0(mdl, "_", pr)
    note_w(paste0("regtest_", key), r$warnings)
    if (is.null(r$error)) {
      v <- r$value
      if (mdl == "lm") {
        sm <- summary(v$fit)
        coefs <- coef(sm)[, 1]; ses <- coef(sm)[, 2]; sigma <- sm$sigma
      } else {
        coefs <- c(v$fit$beta); ses <- v$fit$se; sigma <- NULL
      }
      rt_all[[key]] <- list(call = s, model = mdl, predictor = pr,
                            statistic = jnum(v$zval), p_value = jnum(v$pval),
                            df = jnum(v$dfs),
                            limit_estimate = if (is.null(v$est)) jnull else jnum(v$est),
                            limit_ci_lower = if (is.null(v$ci.lb)) jnull else jnum(v$ci.lb),
                            limit_ci_upper = if (is.null(v$ci.ub)) jnull else jnum(v$ci.ub),
                            coef = jvec(coefs), coef_se = jvec(ses),
                            sigma = if (is.null(sigma)) jnull else jnum(sigma),
                            tau2 = if (mdl == "rma") jnum(v$fit$tau2) else jnull)
    } else rt_all[[key]] <- list(call = s, model = mdl, predictor = pr, error = r$error)
  }
  ex$regtest <- rt_all

  # ---- ranktest
  s <- "rk <- ranktest(res)"
  r <- run_captured(s, env); note_w("ranktest", r$warnings)
  if (is.null(r$error)) {
    ex$ranktest <- list(call = s, tau = jnum(r$value$tau), p_value = jnum(r$value$pval),
                        vi_ties = anyDuplicated(dat$vi) > 0)
  } else ex$ranktest <- list(call = s, error = r$error)

  # ---- trimfill
  tf_block <- function(s, key) {
    r <- run_captured(s, env); note_w(paste0("trimfill_", key), r$warnings)
    if (!is.null(r$error)) return(list(call = s, error = r$error))
    v <- r$value
    fill <- v$fill
    list(call = s, k0 = v$k0, se_k0 = jnum(v$se.k0), p_k0 = jnum(v$p.k0), side = v$side,
         estimator = v$k0.est, k = v$k, method_fitted = v$method, test_fitted = v$test,
         estimate = jnum(c(v$beta)), se = jnum(v$se), statistic = jnum(v$zval),
         p_value = jnum(v$pval), ci_lower = jnum(v$ci.lb), ci_upper = jnum(v$ci.ub),
         tau2 = jnum(v$tau2), i2 = jnum(v$I2), q = jnum(v$QE),
         filled_yi = jvec(v$yi[fill]), filled_vi = jvec(v$vi[fill]))
  }
  tf <- list()
  tf$L0 <- tf_block(sprintf("tf <- trimfill(res%s)", ctl), "L0")
  tf$R0 <- tf_block(sprintf("tf <- trimfill(res, estimator='R0'%s)", ctl), "R0")
  tf$L0_left <- tf_block(sprintf("tf <- trimfill(res, side='left'%s)", ctl), "L0_left")
  tf$L0_right <- tf_block(sprintf("tf <- trimfill(res, side='right'%s)", ctl), "L0_right")
  if (method %in% ITERATIVE) {
    d <- tf_block("tf <- trimfill(res)", "L0_default_control")
    tf$L0_default_control <- d[intersect(names(d), c("call", "error", "k0", "side", "estimate", "tau2"))]
  }
  ex$trimfill <- tf

  # ---- PET / PEESE
  pp <- list()
  for (nm in c("pet", "peese")) {
    s <- sprintf("pp <- rma(yi, vi, mods=~%s, data=dat, method='EE')", if (nm == "pet") "sqrt(vi)" else "vi")
    r <- run_captured(s, env); note_w(nm, r$warnings)
    if (is.null(r$error)) {
      v <- r$value
      pp[[nm]] <- list(call = s, estimate = jnum(v$beta[1]), se = jnum(v$se[1]),
                       statistic = jnum(v$zval[1]), p_value = jnum(v$pval[1]),
                       ci_lower = jnum(v$ci.lb[1]), ci_upper = jnum(v$ci.ub[1]),
                       slope = jnum(v$beta[2]), slope_se = jnum(v$se[2]),
                       slope_p_value = jnum(v$pval[2]))
    } else pp[[nm]] <- list(call = s, error = r$error)
  }
  ex$pet_peese <- pp

  # ---- fail-safe N
  fs <- list()
  fsn_block <- function(s, key) {
    r <- run_captured(s, env); note_w(paste0("fsn_", key), r$warnings)
    if (!is.null(r$error)) return(list(call = s, error = r$error))
    v <- r$value
    list(call = s, type = v$type, fsnum = jnum(v$fsnum), alpha = jnum(v$alpha), pval = jnum(v$pval),
         meanes = jnum(v$meanes), target = jnum(v$target))
  }
  fs$rosenthal <- fsn_block("fs <- fsn(yi, vi, data=dat)", "rosenthal")
  ee <- rma(dat$yi, dat$vi, method = "EE")
  tgt <- c(ee$beta) / 2
  fs$orwin <- fsn_block(sprintf("fs <- fsn(yi, vi, data=dat, type='Orwin', target=%s)",
                                sprintf("%.17g", tgt)), "orwin")
  fs$orwin$target_source <- "half the equal-effects estimate: c(rma(yi, vi, data=dat, method='EE')$beta)/2"
  fs$orwin_default <- fsn_block("fs <- fsn(yi, data=dat, type='Orwin')", "orwin_default")
  fs$orwin_weighted <- fsn_block("fs <- fsn(yi, vi, data=dat, type='Orwin', weighted=TRUE)", "orwin_weighted")
  fs$rosenberg <- fsn_block("fs <- fsn(yi, vi, data=dat, type='Rosenberg')", "rosenberg")
  ex$fsn <- fs

  ex$warnings <- if (length(warns)) warns else emptyobj()
  case$expected <- ex
  if (length(notes)) case$notes <- I(notes)
  add_case(case)
  invisible(case)
}

# ================================================================== 1. BCG ==================
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
bcg_src <- paste0("escalc(measure='RR', ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg); ",
                  "ni = tpos+tneg+cpos+cneg; year = dat.bcg$year")
bcg_dat <- data.frame(yi = c(bcg$yi), vi = c(bcg$vi),
                      ni = with(dat.bcg, tpos + tneg + cpos + cneg), year = dat.bcg$year)
for (m in c("REML", "DL", "EE", "PM")) diag_case(paste0("bcg_RR_", m, "_z"), "bcg", bcg_dat, m, "z",
                                                 data_source = bcg_src)
for (m in c("REML", "DL")) diag_case(paste0("bcg_RR_", m, "_knha"), "bcg", bcg_dat, m, "knha",
                                     data_source = bcg_src)

# ================================================================== 2. Normand 1999 =========
nd <- escalc(measure = "MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i,
             n2i = n2i, data = dat.normand1999)
nd_src <- paste0("escalc(measure='MD', m1i=m1i, sd1i=sd1i, n1i=n1i, m2i=m2i, sd2i=sd2i, n2i=n2i, ",
                 "data=dat.normand1999); ni = n1i+n2i; year = study (the dataset has no year)")
nd_dat <- data.frame(yi = c(nd$yi), vi = c(nd$vi), ni = nd$n1i + nd$n2i,
                     year = as.numeric(nd$study))
for (m in c("REML", "DL", "EE", "PM"))
  diag_case(paste0("normand1999_MD_", m, "_z"), "normand1999", nd_dat, m, "z", data_source = nd_src,
            notes = "dat.normand1999 has no publication year: 'year' is the study number")
for (m in c("REML", "DL"))
  diag_case(paste0("normand1999_MD_", m, "_knha"), "normand1999", nd_dat, m, "knha",
            data_source = nd_src,
            notes = "dat.normand1999 has no publication year: 'year' is the study number")

# ================================================================== 3. random ===============
# SMD-like data: ni total sample size, vi ~ 4/ni (1 + small noise); years with ties.
# Every 6th dataset has vi rounded to 2 decimals (ties in vi: ranktest falls back to the normal
# approximation with a warning).
method_for <- function(i) if (i %% 10 == 0) "PM" else c("REML", "DL", "EE")[(i - 1) %% 3 + 1]
test_for <- function(i) if (i %% 4 == 0) "knha" else "z"

set.seed(20240701)
N_RANDOM <- 64
for (i in seq_len(N_RANDOM)) {
  k <- sample(c(5:12, 15, 18, 20, 25, 30, 35, 40), 1)
  tau2 <- sample(c(0, 0.01, 0.05, 0.2), 1)
  mu <- rnorm(1, 0.2, 0.3)
  ni <- round(exp(runif(k, log(16), log(600))))
  vi <- 4 / ni * exp(rnorm(k, 0, 0.1))
  ties <- i %% 6 == 0
  if (ties) vi <- pmax(round(vi, 2), 0.01)
  yi <- rnorm(k, mu, sqrt(tau2 + vi))
  year <- sample(1985:2022, k, replace = TRUE)
  dat <- data.frame(yi = yi, vi = vi, ni = ni, year = year)
  m <- method_for(i); tt <- test_for(i)
  nt <- sprintf("simulated: true mu = %.6g, tau2 = %g%s", mu, tau2,
                if (ties) "; vi rounded to 2 decimals (ties)" else "")
  diag_case(sprintf("random_%03d_k%d_%s_%s", i, k, m, tt), "random", dat, m, tt, notes = nt)
}

# ================================================================== 4. asymmetric ===========
# Publication bias by construction: draw n0 studies, keep all large ones (ni >= cut) and only
# "favourable" small ones (z beyond +-1 in the favoured direction; others kept with prob 0.1).
# Odd i: small studies with negative effects suppressed (funnel hole on the left);
# even i: small studies with positive effects suppressed (hole on the right).
set.seed(20240702)
N_ASYM <- 30
for (i in seq_len(N_ASYM)) {
  favour <- if (i %% 2 == 1) 1 else -1
  tau2 <- sample(c(0, 0.02, 0.08), 1)
  mu <- favour * runif(1, 0, 0.3)
  n0 <- sample(30:70, 1)
  ni <- round(exp(runif(n0, log(12), log(800))))
  vi <- 4 / ni * exp(rnorm(n0, 0, 0.1))
  yi <- rnorm(n0, mu, sqrt(tau2 + vi))
  cut <- sort(ni)[ceiling(0.7 * n0)]
  z <- favour * yi / sqrt(vi)
  keep <- ni >= cut | z > 1 | runif(n0) < 0.1
  idx <- which(keep)
  if (length(idx) > 40) idx <- sort(sample(idx, 40))
  if (length(idx) < 8) idx <- sort(c(idx, sample(setdiff(seq_len(n0), idx), 8 - length(idx))))
  year <- sample(1980:2022, length(idx), replace = TRUE)
  dat <- data.frame(yi = yi[idx], vi = vi[idx], ni = ni[idx], year = year)
  m <- method_for(i); tt <- if (i %% 5 == 3) "knha" else "z"
  nt <- sprintf("simulated with publication bias: true mu = %.6g, tau2 = %g, small studies with %s effects suppressed",
                mu, tau2, if (favour > 0) "negative" else "positive")
  diag_case(sprintf("asym_%02d_k%d_%s_%s", i, nrow(dat), m, tt), "asymmetric", dat, m, tt, notes = nt)
}

invisible(dev.off())

# ================================================================== write ===================
stopifnot(!anyDuplicated(vapply(cases, `[[`, "", "name")))
out <- list(
  generator = "validation/r/diagnostics_fixtures.R",
  r_version = R.version.string,
  metafor_version = packageDescription("metafor")$Version,
  jsonlite_version = as.character(packageVersion("jsonlite")),
  created = as.character(Sys.Date()),
  number_format = "doubles printed with sprintf('%.17g') (exact round trip); NA/NaN/Inf -> null",
  controls = list(ML = control_string("ML"), REML = control_string("REML"),
                  PM = control_string("PM"), others = "none (closed-form estimators read no control option)"),
  cases = cases
)
dir.create(dirname(out_file), showWarnings = FALSE, recursive = TRUE)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, na = "null", null = "null",
                  json_verbatim = TRUE, pretty = FALSE), out_file)

# ================================================================== summary =================
fam <- vapply(cases, `[[`, "", "family")
met <- vapply(cases, `[[`, "", "method")
tst <- vapply(cases, `[[`, "", "test")
cat(sprintf("wrote %s: %d cases, %.1f kB, %.1f s\n", out_file, length(cases),
            file.size(out_file) / 1024, proc.time()[["elapsed"]] - t_start))
cat("\nfamily x method x test:\n"); print(ftable(table(fam, met, tst)))
err <- Filter(function(x) !is.null(x$error), cases)
cat(sprintf("\nmodel fits with an error: %d\n", length(err)))
blk_err <- unlist(lapply(cases, function(x) {
  e <- character(0)
  for (b in c("leave1out", "influence", "cumul", "baujat", "ranktest"))
    if (!is.null(x$expected[[b]]$error)) e <- c(e, paste0(x$name, " ", b, ": ", x$expected[[b]]$error))
  for (b in names(x$expected$regtest))
    if (!is.null(x$expected$regtest[[b]]$error)) e <- c(e, paste0(x$name, " regtest ", b, ": ", x$expected$regtest[[b]]$error))
  for (b in names(x$expected$trimfill))
    if (!is.null(x$expected$trimfill[[b]]$error)) e <- c(e, paste0(x$name, " trimfill ", b, ": ", x$expected$trimfill[[b]]$error))
  for (b in names(x$expected$fsn))
    if (!is.null(x$expected$fsn[[b]]$error)) e <- c(e, paste0(x$name, " fsn ", b, ": ", x$expected$fsn[[b]]$error))
  e
}))
cat(sprintf("diagnostic blocks with an error: %d\n", length(blk_err)))
for (e in blk_err) cat("  ", e, "\n", sep = "")
cat("\nwarnings (block: message):\n")
wl <- unlist(lapply(cases, function(x) {
  w <- x$expected$warnings
  if (!length(w)) return(character(0))
  unlist(lapply(names(w), function(b) paste0(sub("^regtest_.*", "regtest", sub("^trimfill_.*", "trimfill", b)),
                                             ": ", w[[b]])))
}))
print(sort(table(wl), decreasing = TRUE))
sides <- unlist(lapply(cases, function(x) x$expected$trimfill$L0$side))
k0s <- unlist(lapply(cases, function(x) x$expected$trimfill$L0$k0))
cat("\ntrimfill L0 (automatic side): side x (k0 > 0)\n"); print(table(sides, k0s > 0))
cat("asymmetric family:\n")
asy <- Filter(function(x) x$family == "asymmetric", cases)
print(table(vapply(asy, function(x) x$expected$trimfill$L0$side, ""),
            vapply(asy, function(x) x$expected$trimfill$L0$k0 > 0, TRUE)))
dc <- Filter(function(x) !is.null(x$expected$trimfill$L0_default_control) &&
               !is.null(x$expected$trimfill$L0_default_control$k0) &&
               x$expected$trimfill$L0_default_control$k0 != x$expected$trimfill$L0$k0, cases)
cat(sprintf("trimfill: default control gives a different k0 in %d cases\n", length(dc)))
