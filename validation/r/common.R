# common.R -- helpers shared by the validation/r/*_fixtures.R scripts (base R only).
#
# Not a fixture script itself (the Makefile's `fixtures` target runs validation/r/*_fixtures.R).
# Each script sources this file from its own directory:
#     local({f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
#            source(file.path(if (length(f)) dirname(gsub("~+~", " ", f[[1]], fixed = TRUE))
#                             else file.path("validation", "r"), "common.R"))})
# A script that needs a different variant of a helper defines its own after that line.
#
# Numbers: every double is written with sprintf("%.17g") (exact round trip) and inserted
# verbatim through jsonlite::toJSON(..., json_verbatim = TRUE) (class "json").
# NA, NaN and +-Inf are written as null.

# One number as JSON text ("null" for NULL, a length-0 vector, NA, NaN, +-Inf).
fmt1 <- function(x) {
  if (is.null(x) || length(x) == 0L || is.na(x)) return("null")   # NA and NaN
  if (is.infinite(x)) return("null")
  sprintf("%.17g", as.numeric(x))
}
# Scalar (the first element of x; null when x is empty).
jnum <- function(x) structure(fmt1(if (length(x)) x[[1]] else NULL), class = "json")
# Vector -> JSON array ("[]" for NULL).
jvec <- function(x) structure(paste0("[", paste(vapply(as.numeric(x), fmt1, ""),
                                                collapse = ","), "]"), class = "json")
# Matrix -> JSON array of rows.
jmat <- function(m) {
  m <- as.matrix(m)
  structure(paste0("[", paste(vapply(seq_len(nrow(m)), function(i) unclass(jvec(m[i, ])), ""),
                              collapse = ","), "]"), class = "json")
}
jnull <- structure("null", class = "json")
emptyobj <- function() structure(list(), names = character(0))

# Run an expression string in env, capturing warnings (verbatim) and an error message.
run_captured <- function(expr_string, env) {
  warns <- character(0)
  value <- tryCatch(
    withCallingHandlers(eval(parse(text = expr_string), envir = env),
                        warning = function(w) {
                          warns <<- c(warns, conditionMessage(w))
                          invokeRestart("muffleWarning")
                        }),
    error = function(e) structure(list(msg = conditionMessage(e)), class = "captured_error"))
  list(value = value, warnings = warns, error = if (inherits(value, "captured_error")) value$msg else NULL)
}
