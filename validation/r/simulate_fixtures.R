# simulate_fixtures.R -- R oracle for alsmeta.simulate._lmm_batch (fit_slope_batch): the
# slope model of many simulated trials, each fitted here by lme4/lmerTest on its own.
#
# Run from the repository root (the trials are written by Python first; the CSV is
# committed, so the second line alone regenerates the fixture):
#     .venv/bin/python validation/simulate/write_trials.py
#     Rscript validation/r/simulate_fixtures.R
# Reads validation/simulate/trials.csv and writes tests/fixtures/simulate_reference.json.
# Needs R (tested: 4.2.2) with lme4 (1.1-31), lmerTest (3.1-3) and jsonlite.  No random
# numbers are drawn here.
#
# The CSV holds 24 trials simulated by alsmeta.simulate.simulate_trials (D50 and linear
# progression, 20-100 patients per arm, 6 or 12 months, effects 0 and 30 %, and three
# near-boundary scenarios with a slope and/or intercept SD of 1e-6); its '#' lines give
# each trial's scenario and parameters as JSON, copied into the fixture.  Only visits
# from month 0 on are in the file (what slope_endpoint analyses).
#
# Every case records the R call verbatim (built as a string and evaluated):
#     lmerTest::lmer(total ~ t_months * arm + (1 + t_months | subject_id), data = dat,
#                    REML = TRUE, control = <tight>)
# with dat the rows of one trial and arm = factor(arm, levels = c("Placebo", "Active")).
# tight = nloptwrap (BOBYQA) with xtol_abs = ftol_abs = 1e-14, as mixed_fixtures.R, so the
# optimum is found to ~1e-10.  Estimate, SE, Satterthwaite df, t and p of
# t_months:armActive come from summary(fit) (lmerTest); singular = lme4::isSingular(fit)
# (default tol 1e-4 on theta_1 and theta_3, as alsmeta's boundary flag).
# Per case the number of subjects and visits and the sums of t_months and total (as read
# by R) are stored so the test can check it reads the same data.
#
# Numbers: every double is written with sprintf("%.17g") and inserted verbatim through
# jsonlite::toJSON(..., digits = NA, json_verbatim = TRUE).

suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
  library(jsonlite)
})

in_file <- "validation/simulate/trials.csv"
out_file <- "tests/fixtures/simulate_reference.json"

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

TIGHT <- paste0("lmerControl(optimizer = 'nloptwrap', optCtrl = list(xtol_abs = 1e-14, ",
                "ftol_abs = 1e-14, xtol_rel = 0, ftol_rel = 0, maxeval = 100000), ",
                "check.conv.singular = 'ignore')")
CALL <- paste0("lmerTest::lmer(total ~ t_months * arm + (1 + t_months | subject_id), ",
               "data = dat, REML = TRUE, control = ", TIGHT, ")")
DATA_PREP <- "dat$arm <- factor(dat$arm, levels = c('Placebo', 'Active'))"

# Scenario metadata: the '#' lines holding one JSON object per trial.
head_lines <- grep("^# \\{", readLines(in_file), value = TRUE)
meta <- lapply(sub("^# ", "", head_lines), fromJSON, simplifyVector = FALSE)
trials_csv <- read.csv(in_file, comment.char = "#", stringsAsFactors = FALSE,
                       colClasses = c("integer", "character", "character", "numeric",
                                      "numeric"))
stopifnot(identical(vapply(meta, function(m) as.integer(m$trial), 1L),
                    sort(unique(trials_csv$trial))))

slope_fit <- function(env) {
  r <- run(paste0("fit <- ", CALL), env)
  fit <- r$value
  fe <- summary(fit)$coefficients
  term <- "t_months:armActive"
  vc <- as.data.frame(VarCorr(fit))
  list(
    call = CALL,
    warnings = I(r$warnings),
    term = term,
    estimate = jnum(fe[term, "Estimate"]),
    se = jnum(fe[term, "Std. Error"]),
    df = jnum(fe[term, "df"]),
    statistic = jnum(fe[term, "t value"]),
    p_value = jnum(fe[term, "Pr(>|t|)"]),
    terms = I(rownames(fe)),
    fixed_estimate = jvec(fe[, "Estimate"]),
    fixed_se = jvec(fe[, "Std. Error"]),
    theta = jvec(getME(fit, "theta")),
    sigma = jnum(sigma(fit)),
    intercept_var = jnum(vc$vcov[1]), slope_var = jnum(vc$vcov[2]),
    intercept_slope_cov = jnum(vc$vcov[3]), residual_var = jnum(vc$vcov[4]),
    deviance = jnum(REMLcrit(fit)),
    loglik = jnum(as.numeric(logLik(fit))),
    singular = isSingular(fit),
    optimizer_evaluations = fit@optinfo$feval
  )
}

timing <- system.time({
  cases <- list()
  for (m in meta) {
    k <- as.integer(m$trial)
    dat <- trials_csv[trials_csv$trial == k, c("subject_id", "arm", "t_months", "total")]
    rownames(dat) <- NULL
    env <- new.env(parent = globalenv())
    env$dat <- dat
    eval(parse(text = DATA_PREP), envir = env)
    fit <- slope_fit(env)
    cat(sprintf("trial %2d %-36s %4d subjects %5d visits  singular=%s\n", k, m$case,
                length(unique(dat$subject_id)), nrow(dat), fit$singular))
    cases[[length(cases) + 1L]] <- list(
      trial = k,
      case = m$case,
      simulation = m[setdiff(names(m), c("trial", "case"))],
      data_prep = DATA_PREP,
      n_subjects = length(unique(dat$subject_id)),
      n_visits = nrow(dat),
      sum_t_months = jnum(sum(dat$t_months)),
      sum_total = jnum(sum(dat$total)),
      reml = fit
    )
  }
})
cat(sprintf("fitted %d trials in %.1f s\n", length(cases), timing[["elapsed"]]))

versions <- list(R = R.version.string,
                 lme4 = as.character(packageVersion("lme4")),
                 lmerTest = as.character(packageVersion("lmerTest")),
                 Matrix = as.character(packageVersion("Matrix")),
                 jsonlite = as.character(packageVersion("jsonlite")))
out <- list(generator = "validation/r/simulate_fixtures.R", input = in_file,
            versions = versions, n_cases = length(cases), cases = cases)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, json_verbatim = TRUE, null = "null",
                  pretty = FALSE), out_file)
cat("wrote", out_file, "with", length(cases), "cases\n")
