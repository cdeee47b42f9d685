# bench_metafor.R -- metafor side of the alsmeta benchmarks (see benchmarks/README.md).
#
#     Rscript benchmarks/bench_metafor.R DATA.csv OUT.json GROUPS_OUT.csv
#
# Needs R (tested: 4.2.2) with metafor (tested: 3.8-1) and jsonlite.  Every time is taken
# inside this R process with system.time(): R start-up, loading metafor and reading the CSV
# are excluded.  Fits use metafor's default control, as a user would call them.
#
# single : one REML fit on BCG (dat.bcg, log risk ratios), rma() and rma() + confint().
#          Calls are batched (the batch size doubles until a batch takes >= 0.2 s); the
#          reported time is the median batch divided by its size.
# by     : the groups of DATA.csv, one model per group, in a plain loop.  The timed region
#          includes splitting yi and vi by group and storing each group's numbers; it is run
#          once, because for 10,000 groups it takes about a minute.  Two loops: rma() alone,
#          and rma() + confint() (the tau^2 interval that alsmeta's output also holds).
#          GROUPS_OUT.csv gets each group's tau2, estimate and tau^2 interval from the
#          second loop, for the agreement check.

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = TRUE)
if (length(args) < 4) {
  stop("usage: Rscript bench_metafor.R DATA.csv OUT.json GROUPS_OUT.csv PERM.csv")
}
perm_path <- args[4]
data_path <- args[1]
out_path <- args[2]
groups_out_path <- args[3]

elapsed <- function(expr_time) unname(expr_time[["elapsed"]])

time_per_call <- function(f, batches = 7, min_batch_seconds = 0.2) {
  f()  # warm-up
  n <- 1
  repeat {
    t <- elapsed(system.time(for (i in seq_len(n)) f()))
    if (t >= min_batch_seconds) break
    n <- n * 2
  }
  per_call <- vapply(seq_len(batches), function(b) {
    elapsed(system.time(for (i in seq_len(n)) f())) / n
  }, numeric(1))
  list(seconds = median(per_call), calls_per_batch = n, batches = batches,
       all_seconds = per_call)
}

# ---- single fit on BCG --------------------------------------------------------------------
dat <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
res <- rma(yi, vi, data = dat)
ci <- confint(res)
single <- list(
  rma = time_per_call(function() rma(yi, vi, data = dat)),
  rma_confint = time_per_call(function() confint(rma(yi, vi, data = dat))),
  values = list(tau2 = res$tau2, estimate = res$beta[1],
                tau2_ci_lower = ci$random["tau^2", "ci.lb"],
                tau2_ci_upper = ci$random["tau^2", "ci.ub"])
)

# ---- one model per group ------------------------------------------------------------------
groups <- read.csv(data_path, colClasses = c(group = "character"))
n_groups <- length(unique(groups$group))

# One pass over all groups; a group whose fit fails gets NA and is counted, as alsmeta
# reports a non-converged group as nan instead of stopping.
fit_groups <- function(with_confint) {
  ys <- split(groups$yi, groups$group)
  vs <- split(groups$vi, groups$group)
  n <- length(ys)
  tau2 <- estimate <- lower <- upper <- rep(NA_real_, n)
  failed <- 0L
  suppressWarnings(for (g in seq_len(n)) {
    ok <- tryCatch({
      fit <- rma(ys[[g]], vs[[g]], method = "REML")
      tau2[g] <- fit$tau2
      estimate[g] <- fit$beta[1]
      if (with_confint) {
        interval <- confint(fit)$random
        lower[g] <- interval["tau^2", "ci.lb"]
        upper[g] <- interval["tau^2", "ci.ub"]
      }
      TRUE
    }, error = function(e) FALSE)
    if (!ok) failed <- failed + 1L
  })
  table <- data.frame(group = names(ys), tau2 = tau2, estimate = estimate,
                      tau2_ci_lower = lower, tau2_ci_upper = upper)
  attr(table, "failed") <- failed
  table
}

by_case <- function(with_confint) {
  fitted <- NULL
  t <- elapsed(system.time(fitted <- fit_groups(with_confint)))
  list(seconds = t, runs = 1L, failed = attr(fitted, "failed"), table = fitted)
}

by_rma <- by_case(FALSE)
by_confint <- by_case(TRUE)
by <- list(groups = n_groups,
           rma = by_rma[c("seconds", "runs", "failed")],
           rma_confint = by_confint[c("seconds", "runs", "failed")])
table <- by_confint$table
# %.17g round-trips doubles exactly (write.csv keeps only 15 significant digits).
numeric_columns <- vapply(table, is.numeric, logical(1))
table[numeric_columns] <- lapply(table[numeric_columns], sprintf, fmt = "%.17g")
write.csv(table, groups_out_path, row.names = FALSE, quote = FALSE)

# ---- permutation test: 1,000 permutations, k = 20, two moderators ------------------------
perm_data <- read.csv(perm_path)
perm_fit <- rma(yi, vi, mods = ~ a + b, data = perm_data, method = "REML")
perm_runs <- vapply(1:3, function(r) {
  set.seed(r)
  elapsed(system.time(suppressWarnings(permutest(perm_fit, iter = 1000, progbar = FALSE))))
}, numeric(1))
set.seed(1)
perm_result <- suppressWarnings(permutest(perm_fit, iter = 1000, progbar = FALSE))
permutation <- list(seconds = median(perm_runs), runs = 3L, all_seconds = perm_runs,
                    p_values = perm_result$pval, qm_p_value = perm_result$QMp)

result <- list(
  machine = list(
    r = R.version.string,
    metafor = as.character(packageVersion("metafor")),
    blas = unname(extSoftVersion()["BLAS"]),
    lapack = La_library(),
    cpus = parallel::detectCores()
  ),
  single = single,
  by = by,
  permutation = permutation
)
write_json(result, out_path, auto_unbox = TRUE, digits = NA, pretty = TRUE)
cat("wrote", out_path, "\n")
