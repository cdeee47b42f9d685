# Reference values for alsmeta.effects.escalc, computed with metafor::escalc.
#
# Run from the repository root:
#   Rscript validation/r/escalc_fixtures.R
# Writes tests/fixtures/escalc_reference.json. Every case records the exact R call, the
# measure, the keyword arguments other than `data` (column names are given as strings),
# the data set and metafor's yi and vi at full precision (NA is written as null).
#
# jsonlite caps numbers at 15 significant digits even with digits = NA, which loses up to
# 3e-15 relative; numeric vectors are therefore written verbatim with 17 significant
# digits (enough to round-trip every double) and checked after reading back.

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

out_file <- file.path("tests", "fixtures", "escalc_reference.json")

# ---------------------------------------------------------------------------------------
# Data sets
# ---------------------------------------------------------------------------------------
bcg <- metadat::dat.bcg

# Single zero cells (rows 1 and 4), a row with no events in either arm (row 2) and a row
# with no non-events in either arm (row 3): exercises to = "only0"/"if0all"/"none" and
# both branches of drop00.
bcg_zero <- bcg
bcg_zero$tpos[1] <- 0
bcg_zero$tpos[2] <- 0
bcg_zero$cpos[2] <- 0
bcg_zero$tneg[3] <- 0
bcg_zero$cneg[3] <- 0
bcg_zero$cneg[4] <- 0

# A whole column of zeros (no control events anywhere) plus one double-zero row: every
# table needs the correction, and with to = "none" every log measure is undefined.
bcg_zerocol <- bcg
bcg_zerocol$cpos <- 0
bcg_zerocol$tpos[5] <- 0

normand <- metadat::dat.normand1999

# Pre/post change-score summaries for single-group studies (deterministic).
set.seed(20230517)
k_chg <- 8
change <- data.frame(
  study = paste0("S", seq_len(k_chg)),
  m_pre = round(rnorm(k_chg, mean = 30, sd = 4), 2),
  sd_pre = round(runif(k_chg, 3, 8), 2),
  sd_post = round(runif(k_chg, 3, 9), 2),
  ni = c(3L, 12L, 25L, 40L, 9L, 60L, 18L, 33L),
  ri = round(c(0.35, runif(k_chg - 2, -0.2, 0.9), 1.0), 3)
)
change$m_post <- round(change$m_pre - runif(k_chg, 0.5, 6), 2)
change <- change[, c("study", "m_pre", "m_post", "sd_pre", "sd_post", "ni", "ri")]

# Single-arm proportions with 0 events (rows 1 and 5) and n events (rows 3 and 6).
props <- data.frame(
  study = c("P1", "P2", "P3", "P4", "P5", "P6", "P7"),
  xi = c(0L, 3L, 10L, 25L, 0L, 40L, 12L),
  ni = c(20L, 30L, 10L, 50L, 8L, 40L, 35L)
)
props$mi <- props$ni - props$xi

# Generic effect sizes given with their variances or standard errors.
gen <- data.frame(
  study = c("A", "B", "C", "D", "E"),
  est = c(-0.42, 0.10, -0.05, -0.73, 0.31),
  var = c(0.040, 0.125, 0.0081, 0.300, 0.066),
  se = c(0.2, 0.3535533905932738, 0.09, 0.5477225575051661, 0.2569046515733026)
)

data_sets <- list(
  bcg = bcg, bcg_zero = bcg_zero, bcg_zerocol = bcg_zerocol, normand = normand,
  change = change, props = props, gen = gen
)

# ---------------------------------------------------------------------------------------
# Case builder
# ---------------------------------------------------------------------------------------
cases <- list()

# jvec (a numeric vector as a JSON array, 17 significant digits, NA -> null): validation/r/common.R
local({f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))   # common.R
       source(file.path(if (length(f)) dirname(gsub("~+~", " ", f[[1]], fixed = TRUE))
                        else file.path("validation", "r"), "common.R"))})
data_json <- function(df) {
  lapply(as.list(df), function(col) if (is.numeric(col)) jvec(col) else col)
}
column_args <- c(
  "ai", "bi", "ci", "di", "n1i", "n2i", "m1i", "m2i", "sd1i", "sd2i", "xi", "mi", "ni",
  "ri", "yi", "vi", "sei"
)

add_case <- function(name, measure, data_name, ...) {
  args <- list(...)
  call_args <- lapply(names(args), function(a) {
    if (a %in% column_args) as.name(args[[a]]) else args[[a]]
  })
  names(call_args) <- names(args)
  cl <- as.call(c(
    list(as.name("escalc"), measure = measure), call_args,
    list(data = as.name(data_name))
  ))
  res <- withCallingHandlers(
    eval(cl, envir = list2env(data_sets, parent = globalenv())),
    warning = function(w) invokeRestart("muffleWarning")
  )
  json_args <- lapply(args, function(v) if (is.numeric(v) || is.logical(v)) v else as.character(v))
  cases[[length(cases) + 1L]] <<- list(
    name = name,
    call = paste(deparse(cl, width.cutoff = 500L), collapse = " "),
    measure = measure,
    dataset = data_name,
    args = json_args,
    data = data_json(data_sets[[data_name]]),
    expected = list(yi = jvec(res$yi), vi = jvec(res$vi)),
    values = list(yi = as.numeric(res$yi), vi = as.numeric(res$vi))
  )
}

two_by_two <- list(ai = "tpos", bi = "tneg", ci = "cpos", di = "cneg")
add_2x2 <- function(name, measure, data_name, ...) {
  do.call(add_case, c(list(name, measure, data_name), two_by_two, list(...)))
}

# --- 2x2 tables: BCG as published -------------------------------------------------------
for (m in c("RR", "OR", "RD", "PETO", "AS")) {
  add_2x2(sprintf("bcg_%s", m), m, "bcg")
  add_2x2(sprintf("bcg_%s_to_all", m), m, "bcg", to = "all")
}
add_2x2("bcg_RD_vtype_UB", "RD", "bcg", vtype = "UB")
add_2x2("bcg_RD_vtype_AV", "RD", "bcg", vtype = "AV")
add_2x2("bcg_OR_add_1_to_all", "OR", "bcg", add = 1, to = "all")

bcg_n <- bcg
bcg_n$n1i <- bcg$tpos + bcg$tneg
bcg_n$n2i <- bcg$cpos + bcg$cneg
data_sets$bcg_n <- bcg_n
for (m in c("RR", "OR")) {
  add_case(sprintf("bcg_%s_from_group_sizes", m), m, "bcg_n",
           ai = "tpos", n1i = "n1i", ci = "cpos", n2i = "n2i")
}

# --- 2x2 tables with zero cells: every `to` rule, with and without drop00 -------------
for (dn in c("bcg_zero", "bcg_zerocol")) {
  for (m in c("RR", "OR", "RD", "PETO")) {
    for (to in c("only0", "all", "if0all", "none")) {
      for (d00 in c(FALSE, TRUE)) {
        nm <- sprintf("%s_%s_to_%s%s", dn, m, to, if (d00) "_drop00" else "")
        add_2x2(nm, m, dn, to = to, drop00 = d00)
      }
    }
  }
}
add_2x2("bcg_zero_OR_add_1", "OR", "bcg_zero", add = 1)
add_2x2("bcg_zero_RD_vtype_AV", "RD", "bcg_zero", vtype = "AV")
add_2x2("bcg_zero_RD_vtype_AV_drop00", "RD", "bcg_zero", vtype = "AV", drop00 = TRUE)
add_2x2("bcg_zero_RD_vtype_UB", "RD", "bcg_zero", vtype = "UB")
add_2x2("bcg_zero_AS", "AS", "bcg_zero")
add_2x2("bcg_zero_AS_add_half", "AS", "bcg_zero", add = 0.5)

# --- Two groups, means and SDs: Normand 1999 ------------------------------------------
means <- list(m1i = "m1i", sd1i = "sd1i", n1i = "n1i", m2i = "m2i", sd2i = "sd2i", n2i = "n2i")
add_means <- function(name, measure, ...) {
  do.call(add_case, c(list(name, measure, "normand"), means, list(...)))
}
add_means("normand_MD", "MD")
add_means("normand_MD_vtype_UB", "MD", vtype = "UB")
add_means("normand_MD_vtype_HO", "MD", vtype = "HO")
add_means("normand_SMD", "SMD")
for (vt in c("UB", "LS2", "AV")) add_means(sprintf("normand_SMD_vtype_%s", vt), "SMD", vtype = vt)
add_means("normand_SMDH", "SMDH")
add_means("normand_SMDH_vtype_LS2", "SMDH", vtype = "LS2")
add_means("normand_ROM", "ROM")
for (vt in c("HO", "AV", "AVHO")) add_means(sprintf("normand_ROM_vtype_%s", vt), "ROM", vtype = vt)

# --- Single-group pre/post change scores -------------------------------------------------
chg <- list(m1i = "m_post", m2i = "m_pre", sd1i = "sd_post", sd2i = "sd_pre", ni = "ni", ri = "ri")
add_chg <- function(name, measure, ...) {
  do.call(add_case, c(list(name, measure, "change"), chg, list(...)))
}
add_chg("change_MC", "MC")
add_chg("change_SMCC", "SMCC")
add_chg("change_SMCC_vtype_LS2", "SMCC", vtype = "LS2")
add_case("change_SMCR", "SMCR", "change",
         m1i = "m_post", m2i = "m_pre", sd1i = "sd_pre", ni = "ni", ri = "ri")
add_case("change_SMCR_vtype_LS2", "SMCR", "change",
         m1i = "m_post", m2i = "m_pre", sd1i = "sd_pre", ni = "ni", ri = "ri", vtype = "LS2")

# --- Single-arm proportions ----------------------------------------------------------
for (m in c("PR", "PLO", "PAS", "PFT")) {
  add_case(sprintf("props_%s", m), m, "props", xi = "xi", ni = "ni")
}
add_case("props_PR_vtype_UB", "PR", "props", xi = "xi", ni = "ni", vtype = "UB")
add_case("props_PR_vtype_AV", "PR", "props", xi = "xi", ni = "ni", vtype = "AV")
add_case("props_PR_to_none", "PR", "props", xi = "xi", ni = "ni", to = "none")
add_case("props_PLO_vtype_AV", "PLO", "props", xi = "xi", ni = "ni", vtype = "AV")
add_case("props_PLO_to_all", "PLO", "props", xi = "xi", ni = "ni", to = "all")
add_case("props_PLO_to_if0all", "PLO", "props", xi = "xi", ni = "ni", to = "if0all")
add_case("props_PLO_to_none", "PLO", "props", xi = "xi", ni = "ni", to = "none")
add_case("props_PLO_from_mi", "PLO", "props", xi = "xi", mi = "mi")
add_case("props_PAS_add_half", "PAS", "props", xi = "xi", ni = "ni", add = 0.5)
add_case("props_PFT_add_half_to_all", "PFT", "props", xi = "xi", ni = "ni", add = 0.5,
         to = "all")

# --- Generic effect sizes ------------------------------------------------------------
add_case("gen_vi", "GEN", "gen", yi = "est", vi = "var")
add_case("gen_sei", "GEN", "gen", yi = "est", sei = "se")

# ---------------------------------------------------------------------------------------
out <- list(
  generator = "validation/r/escalc_fixtures.R",
  r_version = paste(R.version$major, R.version$minor, sep = "."),
  metafor_version = as.character(packageVersion("metafor")),
  jsonlite_version = as.character(packageVersion("jsonlite")),
  n_cases = length(cases),
  cases = cases
)
values <- lapply(cases, `[[`, "values")
out$cases <- lapply(cases, function(cs) cs[names(cs) != "values"])
json <- toJSON(out, digits = NA, auto_unbox = TRUE, na = "null", pretty = TRUE,
               json_verbatim = TRUE)

# Full precision must survive the round trip.
back <- fromJSON(json, simplifyVector = TRUE)
for (i in seq_along(cases)) {
  for (q in c("yi", "vi")) {
    a <- values[[i]][[q]]
    b <- as.numeric(back$cases$expected[[q]][[i]])
    if (!identical(is.na(a), is.na(b)) || any(a[!is.na(a)] != b[!is.na(b)])) {
      stop(sprintf("JSON round trip changed %s of case %s", q, cases[[i]]$name))
    }
  }
}

dir.create(dirname(out_file), showWarnings = FALSE, recursive = TRUE)
writeLines(json, out_file)
cat(sprintf("wrote %d cases to %s\n", length(cases), out_file))
