# conversions_fixtures.R -- R reference values for alsmeta.effects.conversions.
#
# Run from the repository root:
#     Rscript validation/r/conversions_fixtures.R
# Writes tests/fixtures/conversions_reference.json.  Needs R (tested: 4.2.2) with metafor
# (tested: 3.8-1) and jsonlite.  Deterministic; runs in about a second.
#
# metafor 3.8-1 has NO conv.* functions (conv.2x2, conv.delta, conv.fivenum, conv.wald
# appeared in later releases: `grep("^conv", ls("package:metafor"))` is empty here), so:
#   * mean differences, log odds ratios and log risk ratios come from metafor::escalc();
#   * SE from a CI or a p-value, the quantile estimators (Wan 2014, Luo 2018, Shi 2020) and
#     the change-score SD come from the published closed forms evaluated in base R (qnorm,
#     qt) -- an independent implementation in another language, not a second package.
# Every case stores the exact R expression evaluated (field "call") and its results written
# with sprintf("%.17g") (enough digits to round-trip a double).

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

out_file <- "tests/fixtures/conversions_reference.json"

# fmt1 (one number as JSON text, "null" for NA/NaN/+-Inf): validation/r/common.R
local({f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))   # common.R
       source(file.path(if (length(f)) dirname(gsub("~+~", " ", f[[1]], fixed = TRUE))
                        else file.path("validation", "r"), "common.R"))})
obj <- function(values) {
  inner <- paste0("\"", names(values), "\": ", vapply(values, fmt1, ""), collapse = ", ")
  paste0("{", inner, "}")
}
str_json <- function(s) as.character(toJSON(s, auto_unbox = TRUE))

cases <- list()
add_case <- function(id, fun, args, call, result) {
  args_json <- paste0("{", paste0("\"", names(args), "\": ",
                                  vapply(args, function(a) if (is.character(a)) str_json(a)
                                         else if (length(a) > 1) paste0("[", paste(vapply(a, fmt1, ""), collapse = ","), "]")
                                         else fmt1(a), ""),
                                  collapse = ", "), "}")
  cases[[length(cases) + 1L]] <<- paste0(
    "{\"id\": ", str_json(id), ", \"function\": ", str_json(fun),
    ", \"args\": ", args_json, ", \"call\": ", str_json(call),
    ", \"expected\": ", obj(result), "}")
}
ev <- function(call) eval(parse(text = call))

# ------------------------------------------------------------------ mean differences (escalc)
md_cases <- list(
  list(id = "md_oh2018_6mo", m1 = -3.10, s1 = 3.51, n1 = 31, m2 = -6.48, s2 = 4.53, n2 = 25),
  list(id = "md_oh2018_4mo", m1 = -1.69, s1 = 2.51, n1 = 32, m2 = -4.67, s2 = 3.25, n2 = 27),
  list(id = "md_oh2018_slope_a", m1 = 1.13, s1 = 1.33, n1 = 32, m2 = 0.03, s2 = 1.33, n2 = 27),
  list(id = "md_oh2018_slope_b", m1 = 1.08, s1 = 1.34, n1 = 32, m2 = 0.16, s2 = 1.46, n2 = 25),
  list(id = "md_unbalanced", m1 = 10.5, s1 = 0.4, n1 = 3, m2 = 2.25, s2 = 12.5, n2 = 120),
  list(id = "md_zero_sd", m1 = 0, s1 = 0, n1 = 5, m2 = -1, s2 = 2, n2 = 7)
)
for (cs in md_cases) {
  call_ls <- sprintf("escalc(measure='MD', m1i=%s, sd1i=%s, n1i=%s, m2i=%s, sd2i=%s, n2i=%s, vtype='LS')",
                     fmt1(cs$m1), fmt1(cs$s1), fmt1(cs$n1), fmt1(cs$m2), fmt1(cs$s2), fmt1(cs$n2))
  call_ho <- sub("vtype='LS'", "vtype='HO'", call_ls, fixed = TRUE)
  ls <- ev(call_ls); ho <- ev(call_ho)
  df <- cs$n1 + cs$n2 - 2
  tq <- qt(0.975, df)
  add_case(cs$id, "mean_difference",
           list(mean_t = cs$m1, sd_t = cs$s1, n_t = cs$n1, mean_c = cs$m2, sd_c = cs$s2, n_c = cs$n2),
           paste(call_ls, ";", call_ho, "; qt(0.975, n1i+n2i-2)"),
           c(yi = ls$yi[1], vi = ls$vi[1], vi_pooled = ho$vi[1], df = df,
             ci_lower_t_pooled = ls$yi[1] - tq * sqrt(ho$vi[1]),
             ci_upper_t_pooled = ls$yi[1] + tq * sqrt(ho$vi[1]),
             ci_lower_z_ls = ls$yi[1] - qnorm(0.975) * sqrt(ls$vi[1]),
             ci_upper_z_ls = ls$yi[1] + qnorm(0.975) * sqrt(ls$vi[1])))
}

# ------------------------------------------------------------------ 2x2 tables (escalc)
tab_cases <- list(
  list(id = "oh2018_resp_4mo", a = 22, n1 = 32, c = 5, n2 = 27),
  list(id = "oh2018_resp_6mo", a = 20, n1 = 32, c = 6, n2 = 27),
  list(id = "zero_cell", a = 0, n1 = 10, c = 4, n2 = 12),
  list(id = "all_events", a = 10, n1 = 10, c = 3, n2 = 9),
  list(id = "large", a = 120, n1 = 400, c = 90, n2 = 410)
)
for (cs in tab_cases) {
  for (m in c("OR", "RR")) {
    call <- sprintf("escalc(measure='%s', ai=%s, n1i=%s, ci=%s, n2i=%s)",
                    m, fmt1(cs$a), fmt1(cs$n1), fmt1(cs$c), fmt1(cs$n2))
    r <- ev(call)
    fun <- if (m == "OR") "log_odds_ratio_from_counts" else "log_risk_ratio_from_counts"
    add_case(paste0(tolower(m), "_", cs$id), fun,
             list(events_t = cs$a, n_t = cs$n1, events_c = cs$c, n_c = cs$n2),
             call, c(yi = r$yi[1], vi = r$vi[1]))
  }
}

# ------------------------------------------------------------------ SE from a CI (base R)
ci_cases <- list(
  list(id = "ci_oh2018_6mo_t54", lower = 1.23, upper = 5.54, level = 0.95, df = 54,
       call = "(5.54 - 1.23) / (2 * qt(0.975, 54))"),
  list(id = "ci_oh2018_4mo_t57", lower = 1.48, upper = 4.47, level = 0.95, df = 57,
       call = "(4.47 - 1.48) / (2 * qt(0.975, 57))"),
  list(id = "ci_single_group_t19", lower = -2.5, upper = 0.7, level = 0.95, df = 19,
       call = "(0.7 - -2.5) / (2 * qt(0.975, 19))"),
  list(id = "ci_z", lower = 0.1, upper = 0.9, level = 0.95, df = NA,
       call = "(0.9 - 0.1) / (2 * qnorm(0.975))"),
  list(id = "ci_z_90", lower = -1, upper = 3, level = 0.90, df = NA,
       call = "(3 - -1) / (2 * qnorm(0.95))")
)
for (cs in ci_cases) {
  add_case(cs$id, "se_from_ci",
           list(lower = cs$lower, upper = cs$upper, level = cs$level, df = cs$df),
           cs$call, c(se = ev(cs$call)))
}

# ------------------------------------------------------------------ SE from a p-value
p_cases <- list(
  list(id = "p_z", est = 2.39, p = 0.045, df = NA, call = "abs(2.39) / qnorm(1 - 0.045 / 2)"),
  list(id = "p_z_negative", est = -0.3, p = 0.2, df = NA, call = "abs(-0.3) / qnorm(1 - 0.2 / 2)"),
  list(id = "p_t54", est = 3.38, p = 0.003, df = 54, call = "abs(3.38) / qt(1 - 0.003 / 2, 54)"),
  list(id = "p_z_large", est = 0.285, p = 0.45, df = NA, call = "abs(0.285) / qnorm(1 - 0.45 / 2)")
)
for (cs in p_cases) {
  add_case(cs$id, "se_from_p", list(estimate = cs$est, p_value = cs$p, df = cs$df),
           cs$call, c(se = ev(cs$call)))
}

# ------------------------------------------------------------------ quantiles (closed forms)
xi <- function(n) 2 * qnorm((n - 0.375) / (n + 0.25))
eta <- function(n) 2 * qnorm((0.75 * n - 0.125) / (n + 0.25))
q_cases <- list(
  list(id = "s1_n40", n = 40, a = 2, q1 = NA, m = 5, q3 = NA, b = 11),
  list(id = "s1_n15", n = 15, a = 1, q1 = NA, m = 4, q3 = NA, b = 8),
  list(id = "s2_n60", n = 60, a = NA, q1 = 3, m = 5, q3 = 8, b = NA),
  list(id = "s2_n18", n = 18, a = NA, q1 = 2.5, m = 4.8, q3 = 7.2, b = NA),
  list(id = "s3_n50", n = 50, a = 2, q1 = 4, m = 5, q3 = 7, b = 10),
  list(id = "s3_n20", n = 20, a = 1, q1 = 3, m = 4.8, q3 = 6, b = 9),
  list(id = "s3_n400", n = 400, a = -3.1, q1 = -0.6, m = 0.1, q3 = 0.7, b = 2.9)
)
for (cs in q_cases) {
  n <- cs$n; a <- cs$a; q1 <- cs$q1; m <- cs$m; q3 <- cs$q3; b <- cs$b
  if (is.na(q1)) {
    sc <- "s1"
    luo <- "w <- 4 / (4 + n^0.75); w * (a + b) / 2 + (1 - w) * m"
    wanm <- "(a + 2 * m + b) / 4"
    sd_ls <- "(b - a) / xi(n)"; sd_w <- sd_ls
    args <- list(n = n, median = m, minimum = a, maximum = b)
  } else if (is.na(a)) {
    sc <- "s2"
    luo <- "w <- 0.7 + 0.39 / n; w * (q1 + q3) / 2 + (1 - w) * m"
    wanm <- "(q1 + m + q3) / 3"
    sd_ls <- "(q3 - q1) / eta(n)"; sd_w <- sd_ls
    args <- list(n = n, median = m, q1 = q1, q3 = q3)
  } else {
    sc <- "s3"
    luo <- paste("w1 <- 2.2 / (2.2 + n^0.75); w2 <- 0.7 - 0.72 / n^0.55;",
                 "w1 * (a + b) / 2 + w2 * (q1 + q3) / 2 + (1 - w1 - w2) * m")
    wanm <- "(a + 2 * q1 + 2 * m + 2 * q3 + b) / 8"
    sd_ls <- "ws <- 1 / (1 + 0.07 * n^0.6); ws * (b - a) / xi(n) + (1 - ws) * (q3 - q1) / eta(n)"
    sd_w <- "((b - a) / xi(n) + (q3 - q1) / eta(n)) / 2"
    args <- list(n = n, median = m, q1 = q1, q3 = q3, minimum = a, maximum = b)
  }
  add_case(paste0("luo_shi_", cs$id), "mean_sd_from_quantiles", c(args, list(method = "luo_shi")),
           paste("mean:", luo, "; sd:", sd_ls, "; xi(n) = 2*qnorm((n-0.375)/(n+0.25)),",
                 "eta(n) = 2*qnorm((0.75*n-0.125)/(n+0.25))"),
           c(mean = ev(luo), sd = ev(sd_ls)))
  add_case(paste0("wan_", cs$id), "mean_sd_from_quantiles", c(args, list(method = "wan")),
           paste("mean:", wanm, "; sd:", sd_w), c(mean = ev(wanm), sd = ev(sd_w)))
}

# ------------------------------------------------------------------ change-score SD
cs_cases <- list(
  list(id = "change_sd_r05", sb = 6, sf = 8, r = 0.5),
  list(id = "change_sd_r0", sb = 5.1, sf = 6.3, r = 0),
  list(id = "change_sd_r08", sb = 6.5, sf = 6.1, r = 0.8)
)
for (cs in cs_cases) {
  call <- sprintf("sqrt(%s^2 + %s^2 - 2 * %s * %s * %s)", fmt1(cs$sb), fmt1(cs$sf), fmt1(cs$r),
                  fmt1(cs$sb), fmt1(cs$sf))
  add_case(cs$id, "change_sd", list(sd_baseline = cs$sb, sd_final = cs$sf, r = cs$r), call,
           c(sd = ev(call)))
}

header <- paste0(
  "{\n  \"generated_by\": \"validation/r/conversions_fixtures.R\",\n",
  "  \"r_version\": ", str_json(R.version.string), ",\n",
  "  \"metafor_version\": ", str_json(as.character(packageVersion("metafor"))), ",\n",
  "  \"metafor_conv_functions\": ", str_json(paste(grep("^conv", ls("package:metafor"), value = TRUE), collapse = ",")), ",\n",
  "  \"n_cases\": ", length(cases), ",\n  \"cases\": [\n    ")
writeLines(paste0(header, paste(cases, collapse = ",\n    "), "\n  ]\n}"), out_file)
# Round-trip check: the file parses.
invisible(fromJSON(out_file))
cat(sprintf("wrote %d cases to %s\n", length(cases), out_file))
