# power_fixtures.R -- R oracle for alsmeta.simulate.two_sample_power (closed-form power of
# the two-sided two-sample t test), which the simulated power of the slope endpoint is
# checked against.
#
# Run from the repository root:
#     Rscript validation/r/power_fixtures.R
# Writes tests/fixtures/power_reference.json.  Base R only (stats::power.t.test) plus
# jsonlite; tested with R 4.2.2.  Every case records its R call verbatim.

local({f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
       source(file.path(if (length(f)) dirname(gsub("~+~", " ", f[[1]], fixed = TRUE))
                        else file.path("validation", "r"), "common.R"))})
suppressPackageStartupMessages(library(jsonlite))

grid <- expand.grid(n = c(5, 10, 20, 64, 100, 250), delta = c(0.1, 0.5, 1, 2.5),
                    sd = c(1, 2.3), sig.level = c(0.05, 0.01))
cases <- lapply(seq_len(nrow(grid)), function(i) {
  g <- grid[i, ]
  call <- sprintf("power.t.test(n = %s, delta = %s, sd = %s, sig.level = %s, strict = TRUE)",
                  fmt1(g$n), fmt1(g$delta), fmt1(g$sd), fmt1(g$sig.level))
  res <- eval(parse(text = call))
  list(call = call, n = jnum(g$n), delta = jnum(g$delta), sd = jnum(g$sd),
       alpha = jnum(g$sig.level), power = jnum(res$power))
})
out <- list(generator = "validation/r/power_fixtures.R",
            r_version = R.version.string, cases = cases)
writeLines(toJSON(out, auto_unbox = TRUE, json_verbatim = TRUE, digits = NA, pretty = TRUE),
           "tests/fixtures/power_reference.json")
cat(sprintf("wrote %d cases\n", length(cases)))
