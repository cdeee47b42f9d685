# mixed_fixtures.R -- R oracle for alsmeta.patients.mixed: slope_model (lme4/lmerTest),
# ancova (lm) and mmrm (nlme::gls with an unstructured covariance).
#
# Run from the repository root:
#     Rscript validation/r/mixed_fixtures.R
# Writes tests/fixtures/mixed_reference.json.  Needs R (tested: 4.2.2) with lme4 (1.1-31),
# lmerTest (3.1-3), nlme (3.1-162) and jsonlite.  Deterministic (one set.seed per case).
#
# Cohorts are simulated here, in R: ALSFRS-R-like totals on a visit schedule of
# 0, 1, 2, 3, 4.5, 6, 9, 12 months (each post-baseline visit moved by up to +-0.15 month and
# missed with probability 0.1), exponential dropout, two arms ("Placebo", "Active") with a
# true slope difference, random intercept and slope per subject.  Two cases have a slope
# variance of exactly 0; in one of them lme4 ends on the boundary (theta_3 = 0, a singular
# fit with correlation +-1).  The data are stored with every case.
#
# Every case records the R calls verbatim (each is built as a string and evaluated):
#   * slope model, REML and ML:
#       lmerTest::lmer(total ~ t_months * arm + (1 + t_months | subject_id), data = dat,
#                      REML = <TRUE|FALSE>, control = <tight>)
#     with arm = factor(arm, levels = c(<control>, <treated>)).  tight = nloptwrap (BOBYQA)
#     with xtol_abs = ftol_abs = 1e-14, so the optimum is found to ~1e-10; the same fit with
#     lme4's default control is stored as "default_control" to show how far lme4's default
#     stopping rule is from the optimum.  Satterthwaite df and p of the interaction come from
#     summary(fit) (lmerTest).
#   * ANCOVA: lm(change ~ baseline + arm, data = d_ancova), one row per subject with a
#     baseline visit (nearest to month 0 within +-window) and a visit nearest to month T
#     within +-window (ties: the earlier visit).
#   * MMRM: nlme::gls(change ~ visit * arm + baseline, data = d_mmrm,
#                     correlation = corSymm(form = ~ visit_index | subject_id),
#                     weights = varIdent(form = ~ 1 | visit), method = "REML", control = ...)
#     (corSymm + varIdent = unstructured covariance; the mmrm package is not installed).
#     The treatment difference at the last scheduled visit is L beta with
#     L = arm + visit<last>:arm, its SE sqrt(L V L').
#
# Numbers: every double is written with sprintf("%.17g") and inserted verbatim through
# jsonlite::toJSON(..., digits = NA, json_verbatim = TRUE).

suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
  library(nlme)
  library(jsonlite)
})

out_file <- "tests/fixtures/mixed_reference.json"

# fmt1, jnum, jvec, jmat: validation/r/common.R
local({f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))   # common.R
       source(file.path(if (length(f)) dirname(gsub("~+~", " ", f[[1]], fixed = TRUE))
                        else file.path("validation", "r"), "common.R"))})

run <- function(call, env) {
  warns <- character(0)
  value <- withCallingHandlers(eval(parse(text = call), envir = env),
                               warning = function(w) {
                                 warns <<- c(warns, conditionMessage(w))
                                 invokeRestart("muffleWarning")
                               },
                               message = function(m) invokeRestart("muffleMessage"))
  list(value = value, warnings = warns)
}

SCHEDULE <- c(0, 1, 2, 3, 4.5, 6, 9, 12)

simulate <- function(n, seed, slope_sd = 0.5, effect = 0.3, dropout = 0.03, missed = 0.1,
                     intercept_sd = 5, rho = 0.3, sigma = 1.5) {
  set.seed(seed)
  arm <- ifelse(runif(n) < 0.5, "Active", "Placebo")
  b0 <- rnorm(n)
  b1 <- rho * b0 + sqrt(1 - rho^2) * rnorm(n)
  intercept <- 32 + intercept_sd * b0
  slope <- -1 + ifelse(arm == "Active", effect, 0) + slope_sd * b1
  drop <- rexp(n, dropout)
  rows <- list()
  for (i in seq_len(n)) {
    t <- SCHEDULE + c(0, runif(length(SCHEDULE) - 1, -0.15, 0.15))
    keep <- c(TRUE, runif(length(SCHEDULE) - 1) > missed) & (t < drop[i] | t == 0)
    t <- round(t[keep], 4)
    y <- round(intercept[i] + slope[i] * t + rnorm(length(t), 0, sigma), 2)
    rows[[i]] <- data.frame(subject_id = sprintf("P%03d", i), arm = arm[i], t_months = t,
                            total = y, stringsAsFactors = FALSE)
  }
  do.call(rbind, rows)
}

# Nearest visit to month m within +-window per subject (ties: the earlier); NA if none.
nearest <- function(dat, m, window) {
  sp <- split(dat, dat$subject_id)
  out <- vapply(sp, function(d) {
    dist <- abs(d$t_months - m)
    ok <- which(dist <= window + 1e-9)
    if (!length(ok)) return(NA_real_)
    j <- ok[order(dist[ok], d$t_months[ok])][1]
    d$total[j]
  }, numeric(1))
  out
}

TIGHT <- paste0("lmerControl(optimizer = 'nloptwrap', optCtrl = list(xtol_abs = 1e-14, ",
                "ftol_abs = 1e-14, xtol_rel = 0, ftol_rel = 0, maxeval = 100000), ",
                "check.conv.singular = 'ignore')")

slope_fit <- function(env, reml) {
  call <- paste0("lmerTest::lmer(total ~ t_months * arm + (1 + t_months | subject_id), ",
                 "data = dat, REML = ", reml, ", control = ", TIGHT, ")")
  r <- run(paste0("fit <- ", call), env)
  fit <- r$value
  fe <- summary(fit)$coefficients
  term <- grep(":", rownames(fe), value = TRUE)
  vc <- as.data.frame(VarCorr(fit))
  iv <- vc$vcov[vc$grp == "subject_id" & vc$var1 == "(Intercept)" & is.na(vc$var2)]
  sv <- vc$vcov[vc$grp == "subject_id" & vc$var1 == "t_months" & is.na(vc$var2)]
  cv <- vc$vcov[vc$grp == "subject_id" & !is.na(vc$var2)]
  rv <- vc$vcov[vc$grp == "Residual"]
  V <- as.matrix(vcov(fit))
  L1 <- c(0, 1, 0, 0)
  L2 <- c(0, 1, 0, 1)
  slopes <- list(list(slope = jnum(sum(L1 * fixef(fit))), se = jnum(sqrt(sum(L1 * V %*% L1)))),
                 list(slope = jnum(sum(L2 * fixef(fit))), se = jnum(sqrt(sum(L2 * V %*% L2)))))
  call_default <- paste0("lmerTest::lmer(total ~ t_months * arm + (1 + t_months | subject_id), ",
                         "data = dat, REML = ", reml, ")")
  rd <- run(paste0("fit_default <- ", call_default), env)
  fd <- rd$value
  vd <- as.data.frame(VarCorr(fd))
  list(
    call = call,
    warnings = I(r$warnings),
    terms = I(rownames(fe)),
    estimate = jvec(fe[, "Estimate"]),
    se = jvec(fe[, "Std. Error"]),
    df = jvec(fe[, "df"]),
    statistic = jvec(fe[, "t value"]),
    p_value = jvec(fe[, "Pr(>|t|)"]),
    slope_difference = jnum(fe[term, "Estimate"]),
    slope_difference_se = jnum(fe[term, "Std. Error"]),
    slope_difference_df = jnum(fe[term, "df"]),
    slope_difference_p = jnum(fe[term, "Pr(>|t|)"]),
    slopes = slopes,
    vcov = jmat(V),
    theta = jvec(getME(fit, "theta")),
    sigma = jnum(sigma(fit)),
    intercept_var = jnum(iv), slope_var = jnum(sv), intercept_slope_cov = jnum(cv),
    residual_var = jnum(rv),
    loglik = jnum(as.numeric(logLik(fit))),
    deviance = jnum(if (reml == "TRUE") REMLcrit(fit) else deviance(fit)),
    singular = isSingular(fit),
    default_control = list(
      call = call_default,
      warnings = I(rd$warnings),
      slope_difference = jnum(fixef(fd)[4]),
      slope_difference_se = jnum(sqrt(diag(as.matrix(vcov(fd))))[4]),
      intercept_var = jnum(vd$vcov[1]), slope_var = jnum(vd$vcov[2]),
      intercept_slope_cov = jnum(vd$vcov[3]), residual_var = jnum(vd$vcov[4]))
  )
}

ancova_fit <- function(env, month, window) {
  dat <- env$dat
  base <- nearest(dat, 0, window)
  fup <- nearest(dat, month, window)
  arm <- tapply(as.character(dat$arm), dat$subject_id, function(a) a[1])[names(base)]
  d <- data.frame(subject_id = names(base), arm = factor(arm, levels = levels(dat$arm)),
                  baseline = base, change = fup - base, stringsAsFactors = FALSE)
  d <- d[!is.na(d$change), ]
  env$d_ancova <- d
  call <- "lm(change ~ baseline + arm, data = d_ancova)"
  fit <- run(paste0("fit_lm <- ", call), env)$value
  co <- summary(fit)$coefficients
  term <- grep("^arm", rownames(co), value = TRUE)
  ci <- confint(fit)[term, ]
  list(call = call, month = jnum(month), window = jnum(window),
       subjects = I(d$subject_id),
       estimate = jnum(co[term, 1]), se = jnum(co[term, 2]), statistic = jnum(co[term, 3]),
       p_value = jnum(co[term, 4]), df = jnum(fit$df.residual),
       ci_lower = jnum(ci[1]), ci_upper = jnum(ci[2]),
       coefficients = jvec(co[, 1]), terms = I(rownames(co)))
}

mmrm_fit <- function(env, months, window) {
  dat <- env$dat
  base <- nearest(dat, 0, window)
  parts <- list()
  for (j in seq_along(months)) {
    v <- nearest(dat, months[j], window)
    parts[[j]] <- data.frame(subject_id = names(v), visit_index = j, visit_month = months[j],
                             change = v - base, baseline = base, stringsAsFactors = FALSE)
  }
  d <- do.call(rbind, parts)
  d <- d[!is.na(d$change), ]
  arm <- tapply(as.character(dat$arm), dat$subject_id, function(a) a[1])
  d$arm <- factor(arm[d$subject_id], levels = levels(dat$arm))
  d$visit <- factor(d$visit_month, levels = months)
  d <- d[order(d$subject_id, d$visit_index), ]
  rownames(d) <- NULL
  env$d_mmrm <- d
  call <- paste0("gls(change ~ visit * arm + baseline, data = d_mmrm, ",
                 "correlation = corSymm(form = ~ visit_index | subject_id), ",
                 "weights = varIdent(form = ~ 1 | visit), method = 'REML', ",
                 "control = glsControl(tolerance = 1e-10, msTol = 1e-12, maxIter = 1000, ",
                 "msMaxIter = 1000, returnObject = TRUE))")
  r <- run(paste0("fit_gls <- ", call), env)
  fit <- r$value
  b <- coef(fit)
  V <- vcov(fit)
  treated <- levels(d$arm)[2]
  L <- setNames(numeric(length(b)), names(b))
  L[paste0("arm", treated)] <- 1
  L[paste0("visit", months[length(months)], ":arm", treated)] <- 1
  # Unstructured covariance: sigma^2 * (sd ratios) * corMatrix.
  ratios <- coef(fit$modelStruct$varStruct, unconstrained = FALSE, allCoef = TRUE)
  ratios <- ratios[as.character(months)]
  cs <- fit$modelStruct$corStruct
  cm <- corMatrix(cs)
  full <- names(which.max(sapply(cm, nrow)))
  C <- cm[[full]]
  S <- fit$sigma^2 * outer(ratios, ratios) * C
  list(call = call, warnings = I(r$warnings), visits_months = jvec(months),
       window = jnum(window),
       subjects = I(unique(d$subject_id)), n_obs = nrow(d),
       estimate = jnum(sum(L * b)), se = jnum(sqrt(sum(L * (V %*% L)))),
       coefficients = jvec(b), terms = I(names(b)),
       covariance = jmat(S), loglik = jnum(as.numeric(logLik(fit))))
}

SPECS <- list(
  list(name = "n30", n = 30, seed = 101),
  list(name = "n60", n = 60, seed = 202, effect = 0.5),
  list(name = "n100", n = 100, seed = 303),
  list(name = "n150_heavy_dropout", n = 150, seed = 404, dropout = 0.08, missed = 0.2),
  list(name = "n200", n = 200, seed = 505, effect = 0.2),
  list(name = "n400", n = 400, seed = 606),
  list(name = "n80_zero_slope_var", n = 80, seed = 707, slope_sd = 0),
  list(name = "n120_small_slope_var", n = 120, seed = 808, slope_sd = 0.05, rho = -0.5),
  list(name = "n50_no_effect", n = 50, seed = 909, effect = 0, sigma = 2.5),
  list(name = "n40_singular", n = 40, seed = 1, slope_sd = 0, sigma = 3)
)

cases <- list()
for (spec in SPECS) {
  args <- spec[setdiff(names(spec), "name")]
  dat <- do.call(simulate, args)
  env <- new.env(parent = globalenv())
  raw <- dat
  dat$arm <- factor(dat$arm, levels = c("Placebo", "Active"))
  env$dat <- dat
  cat(spec$name, nrow(dat), "visits\n")
  cases[[length(cases) + 1L]] <- list(
    name = spec$name,
    simulation = lapply(args, function(v) jnum(v)),
    control = "Placebo",
    data_prep = "dat$arm <- factor(dat$arm, levels = c('Placebo', 'Active'))",
    data = list(subject_id = I(raw$subject_id), arm = I(raw$arm), t_months = jvec(raw$t_months),
                total = jvec(raw$total)),
    n_subjects = length(unique(raw$subject_id)),
    n_visits = nrow(raw),
    reml = slope_fit(env, "TRUE"),
    ml = slope_fit(env, "FALSE"),
    ancova = ancova_fit(env, 12, 0.5),
    mmrm = mmrm_fit(env, c(3, 6, 9, 12), 0.5)
  )
}

versions <- list(R = R.version.string,
                 lme4 = as.character(packageVersion("lme4")),
                 lmerTest = as.character(packageVersion("lmerTest")),
                 nlme = as.character(packageVersion("nlme")),
                 Matrix = as.character(packageVersion("Matrix")),
                 jsonlite = as.character(packageVersion("jsonlite")))
out <- list(generator = "validation/r/mixed_fixtures.R", versions = versions,
            n_cases = length(cases), cases = cases)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, json_verbatim = TRUE, null = "null",
                  pretty = FALSE), out_file)
cat("wrote", out_file, "with", length(cases), "cases\n")
