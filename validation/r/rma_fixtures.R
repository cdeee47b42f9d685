# rma_fixtures.R -- R oracle for alsmeta's rma() (random/equal-effects model, no moderators).
#
# Run from the repository root:
#     Rscript validation/r/rma_fixtures.R
# Writes tests/fixtures/rma_reference.json.  Needs R (tested: 4.2.2) with metafor (tested:
# 3.8-1) and jsonlite.  Deterministic (every family has its own set.seed), runs in ~1 minute.
#
# Every case is ONE intercept-only model fitted with
#     res <- rma(yi, vi, [weights=wi,] method=..., test=..., level=..., [control=...])
# followed by predict(res) (prediction interval) and a Q-profile confint(res, ...) for tau^2.
# The exact R calls are stored verbatim in each case's "call" field: the script builds the call
# as a string and runs exactly that string with eval(parse()).
#
# Convergence control.  The Python side converges tightly, so the iterative estimators are run
# with tight settings.  Only options a method actually reads are passed (see metafor's
# rma.uni.R):
#   ML, REML : threshold (Fisher-scoring change in tau^2), maxiter, stepadj, and tol (used only
#              by the 'll0check': tau^2 is reset to 0 with a warning when
#              ll(tau^2 = 0) - ll(tau^2_hat) > tol and tau^2_hat > threshold)
#   EB       : threshold, maxiter, stepadj (Fisher-scoring-type iteration; no ll0check)
#   PM, PMM  : tol, maxiter (uniroot on Q(tau^2) = target; tau2.min/tau2.max left at defaults)
#   EE, DL, HE, HS, HSk, SJ, GENQ : closed form, no control option is read -> none passed
# confint() gets control=list(tol=1e-12, maxiter=10000) so the Q-profile bounds are exact roots
# (metafor's default uniroot tol is .Machine$double.eps^0.25 ~ 1.22e-4).
# For the iterative methods the fit is repeated with metafor's default control; the result is
# stored in "default_control" (call, tau2, estimate) and a "notes" entry is added when tau2
# differs by more than max(1e-6, 1e-3 * tau2) or only one of the two fits errors.  For every
# case with a defined tau^2 CI, default_control also holds confint(res) with confint's default
# control, applied to the tightly fitted res (confint_call, tau2_ci_raw) -- for comparison only.
#
# GENQ: confint's default type for GENQ fits is the generalised Q-profile (type="GENQ"), which
# needs the CompQuadForm package (not installed here) and ignores control$tol.  GENQ cases
# therefore call confint(res, type="QP", ...) explicitly -- the same Q-profile as every other
# method -- and record that in "notes".
#
# Numbers.  jsonlite::toJSON(digits = NA) prints at most 15 significant digits, which does not
# round-trip doubles.  So every double is pre-formatted with sprintf("%.17g") (exact round trip)
# and inserted verbatim (json_verbatim = TRUE).  NA -> null; +-Inf/NaN -> null plus an entry
# in expected$nonfinite naming the field and its value ("Inf", "-Inf", "NaN").

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

t_start <- proc.time()[["elapsed"]]
out_file <- "tests/fixtures/rma_reference.json"

# ------------------------------------------------------------------ JSON number helpers ----
# fmt1, jnum, jvec, run_captured: validation/r/common.R
local({f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))   # common.R
       source(file.path(if (length(f)) dirname(gsub("~+~", " ", f[[1]], fixed = TRUE))
                        else file.path("validation", "r"), "common.R"))})
nonfinite_tag <- function(x) {
  if (is.null(x) || length(x) != 1L) return(NULL)
  if (is.nan(x)) return("NaN")
  if (is.infinite(x)) return(if (x > 0) "Inf" else "-Inf")
  NULL
}

# ------------------------------------------------------------------ settings ---------------
METHODS <- c("EE", "DL", "HE", "HS", "HSk", "SJ", "ML", "REML", "EB", "PM", "PMM", "GENQ")
TESTS <- c("z", "t", "knha", "adhoc")
ITERATIVE <- c("ML", "REML", "EB", "PM", "PMM")

control_string <- function(method) {
  switch(method,
         ML = , REML = "list(threshold=1e-12, maxiter=10000, stepadj=0.5, tol=1e-12)",
         EB = "list(threshold=1e-12, maxiter=10000, stepadj=0.5)",
         PM = , PMM = "list(tol=1e-12, maxiter=10000)",
         NULL)
}
CONFINT_CONTROL <- "list(tol=1e-12, maxiter=10000)"

rma_call_string <- function(method, test, level, has_weights, control) {
  paste0("rma(yi, vi",
         if (has_weights) ", weights=wi" else "",
         ", method='", method, "', test='", test, "', level=", level,
         if (!is.null(control)) paste0(", control=", control) else "",
         ")")
}

# ------------------------------------------------------------------ one case ---------------
cases <- list()
add_case <- function(case) cases[[length(cases) + 1L]] <<- case

fit_case <- function(name, family, yi, vi, method, test, level = 95, wi = NULL,
                     notes = character(0), data_source = NULL) {
  stopifnot(length(yi) == length(vi))
  has_w <- !is.null(wi)
  if (method == "GENQ") stopifnot(has_w)
  env <- new.env(parent = globalenv())
  env$yi <- yi
  env$vi <- vi
  if (has_w) env$wi <- wi

  ctrl <- control_string(method)
  rma_str <- rma_call_string(method, test, level, has_w, ctrl)
  fit <- run_captured(paste0("res <- ", rma_str), env)

  # Tight-threshold fallback (Fisher scoring only): should a 1e-12 absolute change in tau^2 be
  # unreachable in floating point (huge tau^2), relax the threshold and say so in notes.
  if (!is.null(fit$error) && grepl("did not converge", fit$error) && !is.null(ctrl)) {
    for (thr in c("1e-10", "1e-8")) {
      ctrl2 <- sub("threshold=1e-12", paste0("threshold=", thr), ctrl, fixed = TRUE)
      rma_str2 <- rma_call_string(method, test, level, has_w, ctrl2)
      fit2 <- run_captured(paste0("res <- ", rma_str2), env)
      if (is.null(fit2$error)) {
        notes <- c(notes, paste0("with ", ctrl, " metafor fails ('", fit$error,
                                 "'); threshold relaxed to ", thr))
        fit <- fit2; ctrl <- ctrl2; rma_str <- rma_str2
        break
      }
    }
  }

  data <- list(yi = jvec(yi), vi = jvec(vi))
  if (has_w) data$weights <- jvec(wi)

  case <- list(name = name, family = family, call = NULL,
               method = method, test = test, level = level / 100,
               control = if (is.null(ctrl)) NULL else ctrl,
               data = data)
  if (!is.null(data_source)) case$data_source <- data_source

  # Fit with metafor's default control (iterative methods only), for comparison.
  default_control <- NULL
  if (method %in% ITERATIVE) {
    d <- run_captured(rma_call_string(method, test, level, has_w, NULL), env)
    default_control <- list(call = rma_call_string(method, test, level, has_w, NULL))
    if (!is.null(d$error)) {
      default_control$error <- d$error
      if (is.null(fit$error))
        notes <- c(notes, paste0("metafor default control errors: '", d$error,
                                 "'; the tight control converges"))
    } else {
      default_control$tau2 <- jnum(d$value$tau2)
      default_control$estimate <- jnum(c(d$value$beta))
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
    case$call <- rma_str
    case$error <- fit$error
    if (length(fit$warnings)) case$warnings <- I(fit$warnings)
    if (!is.null(default_control)) case$default_control <- default_control
    if (length(notes)) case$notes <- I(notes)
    add_case(case)
    return(invisible(case))
  }

  res <- env$res
  warns <- fit$warnings
  k <- res$k
  if (method %in% c("ML", "REML", "EB") && res$tau2 > 0 && res$tau2 < 1e-10)
    notes <- c(notes, paste0("tau2 at the boundary: with tau2.min = 0 the Fisher-scoring steps are ",
                             "halved until tau2 >= 0, so tau2 decreases geometrically and stops once the ",
                             "change is below threshold; metafor reports this tiny positive tau2 although ",
                             "the maximiser is 0 (compare tau2 with an absolute tolerance)"))

  # prediction interval
  pr <- run_captured("pr <- predict(res)", env)
  warns <- c(warns, pr$warnings)
  pi_lb <- pi_ub <- NA
  if (is.null(pr$error)) {
    if (!is.null(pr$value$pi.lb)) { pi_lb <- pr$value$pi.lb; pi_ub <- pr$value$pi.ub }
  } else warns <- c(warns, paste0("predict: ", pr$error))

  # Q-profile CI for tau^2
  ci_str <- if (method == "GENQ") paste0("confint(res, type='QP', control=", CONFINT_CONTROL, ")")
            else paste0("confint(res, control=", CONFINT_CONTROL, ")")
  if (method == "GENQ")
    notes <- c(notes, paste0("confint(res) would default to type='GENQ' (generalised Q-profile, ",
                             "needs CompQuadForm and ignores control$tol); type='QP' used instead"))
  ci <- run_captured(paste0("ci <- ", ci_str), env)
  warns <- c(warns, ci$warnings)
  ci_lb <- ci_ub <- NA
  confint_error <- NULL
  ci_extra <- list()
  if (is.null(ci$error)) {
    cv <- ci$value
    raw <- cv$random["tau^2", c("ci.lb", "ci.ub")]
    ci_lb <- raw[[1]]; ci_ub <- raw[[2]]
    ci_extra <- list(tau2_ci_raw = jvec(raw), tau2_ci_null = cv$ci.null,
                     tau2_ci_lb_sign = cv$lb.sign, tau2_ci_ub_sign = cv$ub.sign,
                     tau2_ci_search = jvec(c(cv$tau2.min,
                       # tau2.max as set in confint.rma.uni (no tau2.max is passed to rma here)
                       if (is.null(res$control$tau2.max)) max(100, res$tau2 * 10, cv$tau2.min * 10)
                       else res$control$tau2.max)))
    if (isTRUE(cv$ci.null)) {
      ci_lb <- NA; ci_ub <- NA
      warns <- c(warns, paste0("The upper and lower CI bounds for tau^2 both fall below ",
                               cv$tau2.min, ".\nThe CIs are therefore equal to the null/empty set."))
    } else {
      if (nzchar(cv$lb.sign)) {
        warns <- c(warns, paste0("confint: lower bound of the tau^2 CI is reported as '",
                                 cv$lb.sign, fmt1(ci_lb), "' (outside the search interval)"))
        ci_lb <- NA
      }
      if (nzchar(cv$ub.sign)) {
        warns <- c(warns, paste0("confint: upper bound of the tau^2 CI is reported as '",
                                 cv$ub.sign, fmt1(ci_ub), "' (outside the search interval)"))
        ci_ub <- NA
      }
    }
    # the same CI with metafor's default confint control (uniroot tol ~1.22e-4), for comparison
    cd <- run_captured(if (method == "GENQ") "confint(res, type='QP')" else "confint(res)", env)
    if (is.null(cd$error)) {
      if (is.null(default_control)) default_control <- list()
      default_control$confint_call <- if (method == "GENQ") "confint(res, type='QP')" else "confint(res)"
      default_control$tau2_ci_raw <- jvec(cd$value$random["tau^2", c("ci.lb", "ci.ub")])
    }
  } else {
    confint_error <- ci$error
    # For EE models and k = 1 the CI is simply not defined; otherwise report it as a warning.
    if (!(method == "EE" || k == 1L)) warns <- c(warns, paste0("confint: ", ci$error))
  }

  ex <- list(
    k = k,
    method_fitted = res$method,
    test_fitted = res$test,
    estimate = jnum(c(res$beta)), se = jnum(res$se), statistic = jnum(res$zval),
    p_value = jnum(res$pval), ci_lower = jnum(res$ci.lb), ci_upper = jnum(res$ci.ub),
    pi_lower = jnum(pi_lb), pi_upper = jnum(pi_ub),
    tau2 = jnum(res$tau2), tau2_se = jnum(res$se.tau2),
    tau2_ci_lower = jnum(ci_lb), tau2_ci_upper = jnum(ci_ub),
    i2 = jnum(res$I2), h2 = jnum(res$H2),
    q = jnum(res$QE), q_df = k - res$p, q_p_value = jnum(res$QEp),
    weights = jvec(weights(res)),
    ddf = jnum(res$ddf), s2w = jnum(res$s2w), vt = jnum(res$vt),
    ll_ml = jnum(res$fit.stats["ll", "ML"]), ll_reml = jnum(res$fit.stats["ll", "REML"])
  )
  ex <- c(ex, ci_extra)
  if (!is.null(confint_error)) ex$confint_error <- confint_error
  nf <- list()
  for (f in c("estimate", "se", "statistic", "p_value", "ci_lower", "ci_upper", "pi_lower",
              "pi_upper", "tau2", "tau2_se", "i2", "h2", "q", "q_p_value")) {
    v <- switch(f, estimate = c(res$beta), se = res$se, statistic = res$zval, p_value = res$pval,
                ci_lower = res$ci.lb, ci_upper = res$ci.ub, pi_lower = pi_lb, pi_upper = pi_ub,
                tau2 = res$tau2, tau2_se = res$se.tau2, i2 = res$I2, h2 = res$H2, q = res$QE,
                q_p_value = res$QEp)
    tg <- nonfinite_tag(v)
    if (!is.null(tg)) nf[[f]] <- tg
  }
  if (length(nf)) ex$nonfinite <- nf
  ex$warnings <- I(warns)

  case$call <- paste0("res <- ", rma_str, "; predict(res); ", ci_str)
  case$expected <- ex
  if (!is.null(default_control)) case$default_control <- default_control
  if (length(notes)) case$notes <- I(notes)
  add_case(case)
  invisible(case)
}

# Helper: all methods (GENQ with the given weights) for one dataset and a set of tests.
fit_grid <- function(prefix, family, yi, vi, tests, level = 95, genq_w = list(ivw = 1 / vi),
                     methods = METHODS, notes = character(0), data_source = NULL) {
  lvl_tag <- if (level == 95) "" else paste0("_L", level)
  for (m in methods) for (tt in tests) {
    if (m == "GENQ") {
      for (wn in names(genq_w))
        fit_case(paste0(prefix, "_GENQ", wn, "_", tt, lvl_tag), family, yi, vi, "GENQ", tt,
                 level, wi = genq_w[[wn]], notes = notes, data_source = data_source)
    } else {
      fit_case(paste0(prefix, "_", m, "_", tt, lvl_tag), family, yi, vi, m, tt, level,
               notes = notes, data_source = data_source)
    }
  }
}

# ================================================================== 1. BCG ==================
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
bcg_src <- "escalc(measure='RR', ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)"
bcg_n <- with(dat.bcg, tpos + tneg + cpos + cneg)
bcg_w <- list(ivw = 1 / bcg$vi, n = bcg_n)     # GENQ weights: 1/vi and total sample size
fit_grid("bcg_RR", "bcg", c(bcg$yi), c(bcg$vi), TESTS, 95, bcg_w, data_source = bcg_src)
for (lv in c(90, 99))
  fit_grid("bcg_RR", "bcg", c(bcg$yi), c(bcg$vi), c("z", "knha"), lv, bcg_w, data_source = bcg_src)

# ================================================================== 2. Normand 1999 =========
nd <- dat.normand1999
nd_n <- nd$n1i + nd$n2i
for (ms in c("MD", "SMD")) {
  e <- escalc(measure = ms, m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i,
              n2i = n2i, data = nd)
  src <- paste0("escalc(measure='", ms, "', m1i=m1i, sd1i=sd1i, n1i=n1i, m2i=m2i, sd2i=sd2i, ",
                "n2i=n2i, data=dat.normand1999)")
  fit_grid(paste0("normand1999_", ms), "normand1999", c(e$yi), c(e$vi), c("z", "knha"), 95,
           list(ivw = 1 / e$vi, n = nd_n), data_source = src)
}

# ================================================================== 3. random ===============
# Dataset i is fitted with method METHODS[(i-1) %% 12 + 1] and test TESTS[((i-1) %/% 12) %% 4 + 1],
# so each block of 48 datasets covers every method x test combination once.
set.seed(20240501)
K_SET <- c(1, 2, 3, 4, 5, 7, 10, 15, 20, 30, 45, 60)
TAU2_SET <- c(0, 0, 0.01, 0.1, 0.5, 2)
RATIO_SET <- c(1, 10, 1e2, 1e4)
LEVEL_CYCLE <- c(95, 95, 95, 90, 99)
N_RANDOM <- 336
for (i in seq_len(N_RANDOM)) {
  k <- sample(K_SET, 1)
  tau2 <- sample(TAU2_SET, 1)
  R <- sample(RATIO_SET, 1)
  a <- exp(runif(1, log(0.005), log(0.5)))          # smallest sampling variance
  vi <- exp(runif(k, log(a), log(a * R)))            # max/min up to R
  mu <- rnorm(1, 0, 0.5)
  yi <- mu + rnorm(k, 0, sqrt(tau2 + vi))
  wi <- exp(rnorm(k, 0, 0.75))                       # GENQ weights (drawn for every dataset)
  m <- METHODS[(i - 1) %% 12 + 1]
  tt <- TESTS[((i - 1) %/% 12) %% 4 + 1]
  lv <- LEVEL_CYCLE[(i - 1) %% 5 + 1]
  fit_case(sprintf("random_%03d_k%d_%s_%s", i, k, m, tt), "random", yi, vi, m, tt, lv,
           wi = if (m == "GENQ") wi else NULL,
           notes = sprintf("simulated: true tau2 = %g, mu = %.6g, vi ratio bound R = %g", tau2, mu, R))
}
# k = 1 for every method with z and knha (metafor switches knha -> z with a warning)
set.seed(20240502)
for (m in METHODS) for (tt in c("z", "knha")) {
  yi <- rnorm(1, 0, 1); vi <- exp(runif(1, log(0.01), log(1))); wi <- exp(rnorm(1))
  fit_case(sprintf("random_k1_%s_%s", m, tt), "random", yi, vi, m, tt, 95,
           wi = if (m == "GENQ") wi else NULL)
}

# ================================================================== 4. boundary =============
# (a) Q just below / at / just above k - 1.  Deviations from the inverse-variance mean are
# rescaled so that Q = (k - 1) * (1 + eps) (Q scales with the square of the deviations).
set.seed(20240503)
kq <- 8
vq <- exp(runif(kq, log(0.02), log(0.3)))
yq0 <- rnorm(kq, 0.3, sqrt(vq))
wq <- 1 / vq
mq <- sum(wq * yq0) / sum(wq)
Q0 <- sum(wq * (yq0 - mq)^2)
for (eps in c(-1e-2, -1e-6, 0, 1e-6, 1e-2)) {
  yq <- mq + (yq0 - mq) * sqrt((kq - 1) * (1 + eps) / Q0)
  tag <- if (eps == 0) "Qeq" else sprintf("Q%s%g", if (eps < 0) "m" else "p", abs(eps))
  nt <- sprintf("Q constructed as (k-1)*(1%+g); DL tau2 %s", eps,
                if (eps < 0) "barely truncated to 0" else if (eps > 0) "barely positive"
                else "~0 (sign decided by rounding)")
  fit_grid(paste0("boundary_", tag), "boundary", yq, vq, "knha", notes = nt)
  if (abs(eps) == 1e-6)
    fit_grid(paste0("boundary_", tag), "boundary", yq, vq, c("z", "adhoc"),
             methods = c("DL", "REML", "PM"), notes = nt)
}
# (b) identical yi (Q = 0): tau2 = 0 for all methods, KH s2w = 0 (se = 0), adhoc s2w -> 1
vi_id <- c(0.05, 0.1, 0.02, 0.3, 0.08)
yi_id <- rep(0.3, 5)
fit_grid("boundary_identical", "boundary", yi_id, vi_id, c("z", "knha"),
         notes = "identical yi: Q = 0")
fit_grid("boundary_identical", "boundary", yi_id, vi_id, "adhoc",
         methods = c("DL", "REML", "PM"), notes = "identical yi: Q = 0")
# (c) one study with a huge sampling variance
set.seed(20240504)
vi_h <- c(exp(runif(7, log(0.01), log(0.1))), 1e3)
yi_h <- rnorm(8, -0.2, sqrt(0.05 + vi_h))
fit_grid("boundary_hugevar", "boundary", yi_h, vi_h, "z", notes = "one study with vi = 1e3")
fit_grid("boundary_hugevar", "boundary", yi_h, vi_h, "knha", methods = c("DL", "REML", "PM"),
         notes = "one study with vi = 1e3")
# (d) sampling variances spanning 1e-6 .. 1e2 (ratio 1e8 > 1/evtol: metafor warns)
set.seed(20240505)
vi_s <- 10^seq(-6, 2, length.out = 10)
yi_s <- rnorm(10, 0.5, sqrt(0.1 + vi_s))
fit_grid("boundary_vispan", "boundary", yi_s, vi_s, c("z", "knha"),
         notes = "vi from 1e-6 to 1e2")
# (e) yi of magnitude 1e3 (moderate tau2) and (f) a huge tau2 (~1e6)
set.seed(20240506)
vi_m <- exp(runif(12, log(1), log(10)))
yi_m <- 1000 + rnorm(12, 0, sqrt(20 + vi_m))
fit_grid("boundary_yi1e3", "boundary", yi_m, vi_m, c("z", "knha"), notes = "yi ~ 1000")
vi_b <- exp(runif(10, log(1), log(100)))
yi_b <- rnorm(10, 0, sqrt(1e6 + vi_b))
fit_grid("boundary_tau2big", "boundary", yi_b, vi_b, "z", notes = "true tau2 = 1e6")
# (g) metafor REML Fisher-scoring non-convergence case (metafor_reference.json,
#     reml_fisher_scoring_nonconvergence_k20): set.seed(1); k=20, vi~U(0.01,0.2), tau2=0.05
yi_nc <- c(1.3135035567438744, 0.4683801346732137, 0.5421195565734032, 0.7862709789492195,
           0.4180662035217786, 0.17972415214630977, 0.8149948925292465, 0.02226580956832075,
           0.19204348433447527, 0.24902845567147994, 0.404057992051746, 0.4437647763269307,
           -0.14320917634053593, -0.07513814334754759, 0.688575146836033, 0.2714996746055963,
           0.6031058640821176, 0.573414609987067, 0.5557511414225369, 0.46899829972697743)
vi_nc <- c(0.19033170219510795, 0.0890386495902203, 0.16407088129548358, 0.12945371479494497,
           0.1823588491883129, 0.19322515420150013, 0.11615919142495841, 0.07604950645472854,
           0.14449942403472962, 0.13232596325920895, 0.03963345699710771, 0.19277481582481415,
           0.17210644703358413, 0.015132052856497467, 0.16835347612621263, 0.11694506709231063,
           0.08927782248239964, 0.10479869198519737, 0.10075526761356741, 0.05379374449839816)
fit_grid("boundary_remlnonconv_k20", "boundary", yi_nc, vi_nc, c("z", "knha"),
         notes = "metafor_reference.json case reml_fisher_scoring_nonconvergence_k20",
         data_source = "metafor_reference.json: reml_fisher_scoring_nonconvergence_k20")
# (h) Hine 1989 risk differences: tau2 = 0 for most estimators, Q-profile CI [0, small]
hine <- escalc(measure = "RD", n1i = n1i, n2i = n2i, ai = ai, ci = ci, data = dat.hine1989)
hine_src <- "escalc(measure='RD', n1i=n1i, n2i=n2i, ai=ai, ci=ci, data=dat.hine1989)"
fit_grid("boundary_hine1989_RD", "boundary", c(hine$yi), c(hine$vi), c("z", "knha"),
         data_source = hine_src)
fit_grid("boundary_hine1989_RD", "boundary", c(hine$yi), c(hine$vi), "adhoc",
         methods = c("DL", "REML"), data_source = hine_src)

# ================================================================== 5. few ==================
few_sets <- list(
  k2het = list(yi = c(0.1, 0.9), vi = c(0.04, 0.09)),
  k2hom = list(yi = c(0.2, 0.25), vi = c(0.04, 0.09)),
  k3het = list(yi = c(-0.2, 0.4, 0.9), vi = c(0.05, 0.02, 0.1))
)
for (nm in names(few_sets)) {
  s <- few_sets[[nm]]
  fit_grid(paste0("few_", nm), "few", s$yi, s$vi, c("z", "knha"))
}
fit_grid("few_k2het", "few", few_sets$k2het$yi, few_sets$k2het$vi, c("t", "adhoc"),
         methods = c("DL", "REML"))

# ================================================================== write ===================
stopifnot(!anyDuplicated(vapply(cases, `[[`, "", "name")))
out <- list(
  generator = "validation/r/rma_fixtures.R",
  r_version = R.version.string,
  metafor_version = packageDescription("metafor")$Version,
  jsonlite_version = as.character(packageVersion("jsonlite")),
  created = as.character(Sys.Date()),
  number_format = "doubles printed with sprintf('%.17g') (exact round trip); NA/NaN/Inf -> null, see expected.nonfinite",
  controls = list(
    ML = control_string("ML"), REML = control_string("REML"), EB = control_string("EB"),
    PM = control_string("PM"), PMM = control_string("PMM"), confint = CONFINT_CONTROL,
    others = "none (closed-form estimators read no control option)"),
  cases = cases
)
dir.create(dirname(out_file), showWarnings = FALSE, recursive = TRUE)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, na = "null", null = "null",
                  json_verbatim = TRUE, pretty = FALSE), out_file)

# ================================================================== summary =================
fam <- vapply(cases, `[[`, "", "family")
met <- vapply(cases, `[[`, "", "method")
tst <- vapply(cases, `[[`, "", "test")
has_err <- vapply(cases, function(x) !is.null(x$error), TRUE)
has_warn <- vapply(cases, function(x) length(x$warnings) > 0 ||
                     (!is.null(x$expected) && length(x$expected$warnings) > 0), TRUE)
has_note <- vapply(cases, function(x) length(x$notes) > 0 &&
                     any(grepl("default control|relaxed", x$notes)), TRUE)
cat(sprintf("wrote %s: %d cases, %.1f kB, %.1f s\n", out_file, length(cases),
            file.size(out_file) / 1024, proc.time()[["elapsed"]] - t_start))
cat("\ncases per family:\n"); print(table(fam))
cat("\ncases per method:\n"); print(table(factor(met, levels = METHODS)))
cat("\ncases per test:\n"); print(table(factor(tst, levels = TESTS)))
cat("\nmethod x test:\n"); print(table(factor(met, levels = METHODS), factor(tst, levels = TESTS)))
cat(sprintf("\ncases with an error: %d\n", sum(has_err)))
if (any(has_err)) for (x in cases[has_err]) cat("  ", x$name, ": ", x$error, "\n", sep = "")
cat(sprintf("cases with warnings: %d\n", sum(has_warn)))
wl <- unlist(lapply(cases, function(x) c(x$warnings, x$expected$warnings)))
wl <- sub("^(confint: (lower|upper) bound of the tau\\^2 CI is reported as ').*", "\\1...", wl)
print(sort(table(wl), decreasing = TRUE))
cat(sprintf("cases where metafor's default control differs materially: %d\n", sum(has_note)))
if (any(has_note)) for (x in cases[has_note])
  cat("  ", x$name, ": ", paste(grep("default control|relaxed", x$notes, value = TRUE), collapse = " | "), "\n", sep = "")
