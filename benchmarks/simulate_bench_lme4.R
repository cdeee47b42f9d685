# Time lmerTest on simulated trials (the per-trial analysis of the simulator), one R process.
#
#     Rscript benchmarks/simulate_bench_lme4.R TRIALS.csv OUT.json
#
# For each trial: lmerTest::lmer(total ~ t_months * arm + (1 + t_months | subject_id),
# REML = TRUE) and summary() for the Satterthwaite t test of t_months:armActive -- what
# alsmeta's batched slope endpoint computes per trial. Prints and writes the mean time per
# trial and the share of p < 0.05.
suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
  library(jsonlite)
})
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
d$arm <- factor(d$arm, levels = c("Placebo", "Active"))
trials <- split(d, d$trial)
form <- total ~ t_months * arm + (1 + t_months | subject_id)
invisible(summary(lmerTest::lmer(form, data = trials[[1]], REML = TRUE)))  # warm-up
t0 <- proc.time()[["elapsed"]]
p <- vapply(trials, function(x) {
  s <- suppressMessages(summary(lmerTest::lmer(form, data = x, REML = TRUE)))
  s$coefficients["t_months:armActive", "Pr(>|t|)"]
}, 0)
elapsed <- proc.time()[["elapsed"]] - t0
per <- elapsed / length(trials)
cat(sprintf("lmerTest: %.1f ms per trial (%d trials), share p < 0.05: %.3f\n",
            per * 1e3, length(trials), mean(p < 0.05)))
writeLines(toJSON(list(per_trial_seconds = per, trials = length(trials),
                       share_significant = mean(p < 0.05),
                       p_values = unname(p),
                       versions = list(R = R.version.string,
                                       lme4 = as.character(packageVersion("lme4")),
                                       lmerTest = as.character(packageVersion("lmerTest")))),
                  auto_unbox = TRUE, digits = NA, pretty = TRUE), args[2])
