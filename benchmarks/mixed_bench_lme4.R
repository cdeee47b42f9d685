# Time lme4 (and lmerTest) on the mixed-model benchmark cohort, in one R process.
#
#     Rscript benchmarks/mixed_bench_lme4.R DATA.csv OUT.json [REPEAT]
#
# Rows (median of REPEAT runs after one warm-up run):
#   fit       lme4::lmer(total ~ t_months * arm + (1 + t_months | subject_id), REML = TRUE)
#             on a data.frame in memory, lme4's default control (nloptwrap/BOBYQA)
#   fit_satt  lmerTest::lmer(...) + summary(): the same fit plus lmerTest's Satterthwaite
#             df for every fixed effect (what alsmeta's slope_model computes by default)
#   read_fit  read.csv + lme4::lmer
suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
  library(jsonlite)
})
args <- commandArgs(trailingOnly = TRUE)
data_file <- args[1]
out_file <- args[2]
repeat_n <- if (length(args) >= 3) as.integer(args[3]) else 3L

timed <- function(expr_fun) {
  value <- expr_fun()
  times <- numeric(repeat_n)
  for (i in seq_len(repeat_n)) {
    t0 <- proc.time()[["elapsed"]]
    value <- expr_fun()
    times[i] <- proc.time()[["elapsed"]] - t0
  }
  list(time = median(times), value = value)
}

prep <- function(d) {
  d$arm <- factor(d$arm, levels = c("Placebo", "Active"))
  d
}
dat <- prep(read.csv(data_file))
form <- total ~ t_months * arm + (1 + t_months | subject_id)
fit <- timed(function() lme4::lmer(form, data = dat, REML = TRUE))
satt <- timed(function() summary(lmerTest::lmer(form, data = dat, REML = TRUE)))
rf <- timed(function() lme4::lmer(form, data = prep(read.csv(data_file)), REML = TRUE))
f <- fit$value
vc <- as.data.frame(VarCorr(f))
co <- satt$value$coefficients
out <- list(
  fit = fit$time, fit_satt = satt$time, read_fit = rf$time,
  slope_difference = unname(fixef(f)[4]),
  se = unname(sqrt(diag(as.matrix(vcov(f))))[4]),
  df = unname(co[4, "df"]),
  intercept_var = vc$vcov[1], slope_var = vc$vcov[2], intercept_slope_cov = vc$vcov[3],
  residual_var = vc$vcov[4],
  versions = list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
                  lmerTest = as.character(packageVersion("lmerTest")))
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), out_file)
