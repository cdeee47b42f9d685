# survival_fixtures.R -- R oracle for alsmeta.patients.survival and alsmeta.patients.cafs.
#
# Run from the repository root:
#     Rscript validation/r/survival_fixtures.R
# Writes tests/fixtures/survival_reference.json.  Needs R (tested: 4.2.2) with survival
# (tested: 3.5-3) and jsonlite (tested: 1.8.4).  Deterministic: every cohort has its own
# set.seed.
#
# Survival cases: synthetic two-arm cohorts (n = 20 to 500) with event times rounded so that
# they tie, and censoring.  Each case records the per-subject data (subject_id, arm,
# event_month, event) and
#   fit  <- survfit(Surv(event_month, event) ~ arm, data = d, conf.type = CT)
#           for CT = "log-log" (lifelines' default, its "exponential Greenwood" interval)
#           and CT = "log" (R's default); per arm: time, n.risk, n.event, n.censor, surv,
#           lower, upper at every distinct time (censoring times included, as survfit);
#   sd   <- survdiff(Surv(event_month, event) ~ arm, data = d)   (chisq, p, obs, exp);
#   cox  <- coxph(Surv(event_month, event) ~ arm, data = d, ties = "efron",
#                 control = coxph.control(eps = 1e-13, toler.chol = 1e-15, iter.max = 100))
#           with arm = factor(arm, levels = c("Placebo", "Active")): coef, se, HR, Wald CI,
#           Wald z and p, loglik (null, fitted), likelihood-ratio test.
#
# CAFS cases: visit-level cohorts (n <= 200, items on the ALSFRS-R scale, lead-in visits,
# deaths with tied days, dropouts, subjects without a post-baseline visit) and the CAFS score
# computed by the literal O(n^2) pairwise definition for both dropout rules (see cafs_pair
# below), then rank(score) (average ties) and
#   wilcox.test(score[arm == "Active"], score[arm == "Placebo"], exact = FALSE, correct = TRUE)
#
# Numbers: every double is written with sprintf("%.17g") and inserted verbatim
# (jsonlite::toJSON(..., digits = NA, json_verbatim = TRUE)); NA -> null.

suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})

out_file <- file.path("tests", "fixtures", "survival_reference.json")
DAYS_PER_MONTH <- 365.25 / 12

# jvec (vector -> JSON array), jnum (scalar): validation/r/common.R
local({f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))   # common.R
       source(file.path(if (length(f)) dirname(gsub("~+~", " ", f[[1]], fixed = TRUE))
                        else file.path("validation", "r"), "common.R"))})

# ------------------------------------------------------------------ survival cohorts -------
gen_surv <- function(n, seed, hr = 0.7, censor_rate = 0.05, round_to = 0.5, follow = 24) {
  set.seed(seed)
  arm <- sample(c("Active", "Placebo"), n, replace = TRUE)
  rate <- 0.06 * ifelse(arm == "Active", hr, 1)
  t_event <- rexp(n, rate)
  t_cens <- pmin(rexp(n, censor_rate), follow)
  time <- pmin(t_event, t_cens)
  time <- pmax(round_to, ceiling(time / round_to) * round_to)  # ties on a grid
  event <- as.integer(t_event <= t_cens)
  data.frame(
    subject_id = sprintf("P%04d", seq_len(n)), arm = arm, event_month = time,
    event = event, stringsAsFactors = FALSE
  )
}

surv_case <- function(name, d) {
  d$arm_f <- factor(d$arm, levels = c("Placebo", "Active"))
  km <- list()
  for (ct in c("log-log", "log")) {
    fit <- survfit(Surv(event_month, event) ~ arm, data = d, conf.type = ct)
    s <- summary(fit, censored = TRUE)
    strata <- sub("^arm=", "", as.character(s$strata))
    per <- list()
    for (a in c("Active", "Placebo")) {
      k <- strata == a
      per[[a]] <- list(
        time = jvec(s$time[k]), n_risk = jvec(s$n.risk[k]), n_event = jvec(s$n.event[k]),
        n_censor = jvec(s$n.censor[k]), surv = jvec(s$surv[k]), lower = jvec(s$lower[k]),
        upper = jvec(s$upper[k])
      )
    }
    km[[ct]] <- list(
      call = sprintf("survfit(Surv(event_month, event) ~ arm, data = d, conf.type = \"%s\")", ct),
      arms = per
    )
  }
  sd <- survdiff(Surv(event_month, event) ~ arm_f, data = d)
  cox <- coxph(Surv(event_month, event) ~ arm_f, data = d, ties = "efron",
               control = coxph.control(eps = 1e-13, toler.chol = 1e-15, iter.max = 100))
  cs <- summary(cox)
  ci <- confint(cox)
  lr <- 2 * diff(cox$loglik)
  list(
    name = name,
    n = nrow(d),
    data = list(subject_id = d$subject_id, arm = d$arm, event_month = jvec(d$event_month),
                event = jvec(d$event)),
    km = km,
    logrank = list(
      call = "survdiff(Surv(event_month, event) ~ factor(arm, levels = c(\"Placebo\", \"Active\")))",
      chisq = jnum(sd$chisq), df = jnum(length(sd$n) - 1),
      p_value = jnum(pchisq(sd$chisq, length(sd$n) - 1, lower.tail = FALSE)),
      observed = jvec(sd$obs), expected = jvec(sd$exp), arms = c("Placebo", "Active")
    ),
    cox = list(
      call = paste0("coxph(Surv(event_month, event) ~ factor(arm, levels = c(\"Placebo\", ",
                    "\"Active\")), ties = \"efron\", control = coxph.control(eps = 1e-13, toler.chol = 1e-15))"),
      coef = jnum(coef(cox)), se = jnum(sqrt(vcov(cox))), hazard_ratio = jnum(exp(coef(cox))),
      ci_lower = jnum(exp(ci[1])), ci_upper = jnum(exp(ci[2])),
      z = jnum(cs$coefficients[1, "z"]), p_value = jnum(cs$coefficients[1, "Pr(>|z|)"]),
      loglik_null = jnum(cox$loglik[1]), loglik = jnum(cox$loglik[2]),
      lr_statistic = jnum(lr), lr_p_value = jnum(pchisq(lr, 1, lower.tail = FALSE)),
      n_event = jnum(cox$nevent)
    )
  )
}

surv_specs <- list(
  list("n20_grid1", 20, 101, 0.7, 0.05, 1),
  list("n50_grid05", 50, 102, 0.6, 0.08, 0.5),
  list("n120_grid05", 120, 103, 0.8, 0.03, 0.5),
  list("n200_heavy_censoring", 200, 104, 0.7, 0.25, 0.5),
  list("n300_grid025", 300, 105, 1.0, 0.05, 0.25),
  list("n500_grid1", 500, 106, 0.75, 0.04, 1),
  list("n500_continuous", 500, 107, 0.65, 0.05, 1e-6)
)
surv_cases <- lapply(surv_specs, function(s) {
  surv_case(s[[1]], gen_surv(s[[2]], s[[3]], hr = s[[4]], censor_rate = s[[5]],
                             round_to = s[[6]]))
})

# ------------------------------------------------------------------ CAFS cohorts -----------
ITEMS <- c("speech", "salivation", "swallowing", "handwriting", "cutting_without_gastrostomy",
           "dressing", "turning", "walking", "stairs", "dyspnea", "orthopnea",
           "respiratory_insufficiency")

gen_cafs <- function(n, seed) {
  set.seed(seed)
  arm <- sample(c("Active", "Placebo"), n, replace = TRUE)
  rate <- rexp(n, 1 / 0.9) * ifelse(arm == "Active", 0.8, 1)
  base <- sample(26:44, n, replace = TRUE)
  death_month <- ifelse(runif(n) < 0.3, round(runif(n, 1, 14) * 2) / 2, NA)
  drop_month <- ifelse(runif(n) < 0.25, runif(n, 0.3, 11.5), NA)
  rows <- list()
  for (i in seq_len(n)) {
    m <- c(-3, 0:12)
    days <- round(m * DAYS_PER_MONTH) + ifelse(m == 0, 0, sample(-5:5, length(m), TRUE))
    death_day <- if (is.na(death_month[i])) NA else ceiling(death_month[i] * DAYS_PER_MONTH)
    keep <- days <= 0 | ((is.na(death_day) | days < death_day) &
                           (is.na(drop_month[i]) | m < drop_month[i]))
    keep <- keep & (m <= 0 | runif(length(m)) > 0.08)  # a few missed visits
    total <- round(base[i] - rate[i] * m + rnorm(length(m), 0, 0.8))
    total <- pmin(48, pmax(0, total))
    loss <- 48 - total
    items <- sapply(seq_along(ITEMS), function(j) 4 - pmin(4, pmax(0, loss - 4 * (j - 1))))
    if (is.null(dim(items))) items <- matrix(items, nrow = 1)
    colnames(items) <- ITEMS
    frame <- data.frame(subject_id = sprintf("C%03d", i), days = days, items,
                        arm = arm[i], died = ifelse(is.na(death_day), "No", "Yes"),
                        death_days = death_day, stringsAsFactors = FALSE)
    rows[[i]] <- frame[keep, ]
  }
  do.call(rbind, rows)
}

# The literal pairwise definition (mirrors the documented rules of alsmeta.patients.cafs).
cafs_reference <- function(v, window_months = 12, visit_window_days = 14, dropout = "locf") {
  v$total <- rowSums(v[, ITEMS])
  T_days <- window_months * DAYS_PER_MONTH
  ids <- unique(v$subject_id)
  s <- data.frame(subject_id = ids, stringsAsFactors = FALSE)
  s$arm <- sapply(ids, function(id) v$arm[v$subject_id == id][1])
  s$death_days <- sapply(ids, function(id) v$death_days[v$subject_id == id][1])
  s$base_day <- NA; s$base_total <- NA; s$last_day <- NA; s$last_total <- NA
  vis <- list()
  for (k in seq_along(ids)) {
    w <- v[v$subject_id == ids[k], ]
    w <- w[order(w$days), ]
    b <- max(which(w$days <= 0))
    w <- w[b:nrow(w), ]
    w <- w[w$days <= T_days + visit_window_days, ]
    vis[[k]] <- w
    s$base_day[k] <- w$days[1]; s$base_total[k] <- w$total[1]
    s$last_day[k] <- w$days[nrow(w)]; s$last_total[k] <- w$total[nrow(w)]
  }
  s$died <- !is.na(s$death_days) & s$death_days <= T_days
  s$dropout <- !s$died & s$last_day < T_days - visit_window_days
  s$included <- s$died | s$last_day > s$base_day
  value_at <- function(k, h) {  # change from baseline at day h (last visit on or before h)
    w <- vis[[k]]
    if (is.infinite(h)) return(s$last_total[k] - s$base_total[k])
    w$total[max(which(w$days <= h))] - s$base_total[k]
  }
  horizon <- ifelse(dropout == "rank-at-withdrawal" & s$dropout, s$last_day, Inf)
  keep <- which(s$included)
  score <- rep(NA_real_, nrow(s))
  score[keep] <- 0
  for (a in seq_along(keep)) {
    for (b in seq_along(keep)) {
      if (b <= a) next
      i <- keep[a]; j <- keep[b]
      h <- min(horizon[i], horizon[j])       # Inf: compare at the end of the window
      di <- s$died[i] && s$death_days[i] <= h
      dj <- s$died[j] && s$death_days[j] <= h
      w <- if (di && dj) {
        sign(s$death_days[i] - s$death_days[j])          # later death wins; same day ties
      } else if (di) {
        -1
      } else if (dj) {
        1
      } else {
        sign(value_at(i, h) - value_at(j, h))            # smaller decline wins; equal ties
      }
      score[i] <- score[i] + w
      score[j] <- score[j] - w
    }
  }
  s$score <- score
  s$rank <- NA_real_
  s$rank[keep] <- rank(score[keep])
  act <- keep[s$arm[keep] == "Active"]
  pla <- keep[s$arm[keep] == "Placebo"]
  wt <- suppressWarnings(wilcox.test(score[act], score[pla], exact = FALSE, correct = TRUE))
  list(
    options = list(window_months = window_months, visit_window_days = visit_window_days,
                   dropout = dropout),
    call = paste0("wilcox.test(score[arm == \"Active\"], score[arm == \"Placebo\"], ",
                  "exact = FALSE, correct = TRUE)"),
    subject_id = s$subject_id, included = s$included, died = s$died, dropout = s$dropout,
    score = jvec(s$score), rank = jvec(s$rank),
    mean_rank = list(Active = jnum(mean(s$rank[act])), Placebo = jnum(mean(s$rank[pla]))),
    w_statistic = jnum(wt$statistic), p_value = jnum(wt$p.value)
  )
}

cafs_specs <- list(list("n20", 20, 201), list("n60", 60, 202), list("n120", 120, 203),
                   list("n200", 200, 204))
cafs_cases <- list()
for (sp in cafs_specs) {
  v <- gen_cafs(sp[[2]], sp[[3]])
  data <- lapply(as.list(v), function(col) if (is.numeric(col)) jvec(col) else col)
  for (rule in c("locf", "rank-at-withdrawal")) {
    for (wm in c(12, 6)) {
      cafs_cases[[length(cafs_cases) + 1]] <- list(
        name = sprintf("%s_%s_T%g", sp[[1]], rule, wm), n = sp[[2]], data = data,
        expected = cafs_reference(v, window_months = wm, dropout = rule)
      )
    }
  }
}

out <- list(
  generator = "validation/r/survival_fixtures.R",
  r_version = paste(R.version$major, R.version$minor, sep = "."),
  survival_version = as.character(packageVersion("survival")),
  jsonlite_version = as.character(packageVersion("jsonlite")),
  n_survival_cases = length(surv_cases),
  n_cafs_cases = length(cafs_cases),
  survival_cases = surv_cases,
  cafs_cases = cafs_cases
)
json <- toJSON(out, digits = NA, auto_unbox = TRUE, na = "null", pretty = TRUE,
               json_verbatim = TRUE)
dir.create(dirname(out_file), showWarnings = FALSE, recursive = TRUE)
writeLines(json, out_file)
cat(sprintf("wrote %d survival and %d CAFS cases to %s\n", length(surv_cases),
            length(cafs_cases), out_file))
