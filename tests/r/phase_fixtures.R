# Reference values for tests/test_single_case_phase.py (analysis/stats/single_case/phase.py).
# Run from the repository root:  Rscript tests/r/phase_fixtures.R
# Writes tests/fixtures/phase/phase_r.json: for each series, the inputs and R's results.
# Packages: stats and jsonlite only. SingleCaseES and scan are not installable here (no CRAN),
# so NAP's SE and Newcombe interval are computed by `sces_nap()`, a transcription of
# SingleCaseES 0.7.3 `calc_NAP()` (SE = "unbiased", truncation constant 0.5/(m n)).
# Its one change: when NAP = 1 (or 0) uniroot is given c(0, 1 - 1e-12) (c(1e-12, 1)), because
# f(1) = 0 exactly and SingleCaseES's uniroot(f, c(0, NAP)) then returns the endpoint 1.
# Kendall's S tests: cor.test(method = "kendall", exact = FALSE, continuity = FALSE), whose
# variance of S is corrected for ties. Piecewise regression: lm().
suppressPackageStartupMessages(library(jsonlite))

sces_nap <- function(A, B, confidence = 0.95) {
  m <- length(A); n <- length(B)
  Q <- matrix(sapply(B, function(j) (j > A) + 0.5 * (j == A)), nrow = m, ncol = n)
  NAP <- mean(Q)
  Q1 <- sum(rowSums(Q - NAP)^2) / (m * n^2)
  Q2 <- sum(colSums(Q - NAP)^2) / (m^2 * n)
  trunc <- 0.5 / (m * n)
  NAP_t <- min(max(NAP, trunc), 1 - trunc)
  X <- sum((Q - NAP)^2) / (m * n)
  V <- (NAP_t * (1 - NAP_t) + n * Q1 + m * Q2 - 2 * X) / ((m - 1) * (n - 1))
  h <- (m + n) / 2 - 1
  z <- qnorm(1 - (1 - confidence) / 2)
  f <- function(x) m * n * (NAP - x)^2 * (2 - x) * (1 + x) -
    z^2 * x * (1 - x) * (2 + h + (1 + 2 * h) * x * (1 - x))
  tol <- 1e-13
  lower <- if (NAP == 0) 0 else if (NAP == 1) uniroot(f, c(0, 1 - 1e-12), tol = tol)$root else
    uniroot(f, c(0, NAP), tol = tol)$root
  upper <- if (NAP == 1) 1 else if (NAP == 0) uniroot(f, c(1e-12, 1), tol = tol)$root else
    uniroot(f, c(NAP, 1), tol = tol)$root
  list(est = NAP, se = sqrt(V), ci_low = lower, ci_high = upper)
}

series <- list(
  # Parker & Vannest (2009), Behavior Therapy 40:357-367, NAP example (also SingleCaseES ?NAP)
  pv2009 = list(a = c(4, 3, 4, 3, 4, 7, 5, 2, 3, 2), b = c(5, 9, 7, 9, 7, 5, 9, 11, 11, 10, 9),
                better = "higher"),
  # Parker, Vannest & Davis (2011), Behavior Modification 35:303-322 (scan's Parker2011b)
  pvd2011 = list(a = c(20, 20, 26, 25, 22, 23), b = c(28, 25, 24, 27, 30, 30, 29),
                 better = "higher"),
  # Parker, Vannest, Davis & Sauber (2011), Behavior Therapy 42:284-299 (scan's Parker2011)
  pvds2011 = list(a = c(2, 3, 5, 3), b = c(4, 5, 5, 7, 6), better = "higher"),
  # complete separation, lower is better (MAS-like), 4 + 5 points
  sep45 = list(a = c(3, 3, 2, 3), b = c(1.5, 1, 1, 1.5, 1), better = "lower",
               day_a = c(-6, -4, -2, -1), day_b = c(1, 2, 3, 4, 5)),
  # MAS-like with ties across phases, lower is better, irregular days
  mas_ties = list(a = c(3, 2, 3, 3, 2), b = c(2, 2, 1.5, 1.5, 1, 1, 1.5), better = "lower",
                  day_a = c(-10, -8, -6, -3, -1), day_b = c(1, 2, 3, 5, 7, 9, 12)),
  # Huitema & McKean (2000) example series (scan's Huitema2000), B starts at point 11
  huitema2000 = list(a = c(58, 70, 79, 85, 93, 94, 105, 110, 122, 130),
                     b = c(122, 110, 103, 88, 81, 68, 53, 50, 36, 31), better = "higher")
)
set.seed(20261125)
series$random_days <- list(
  a = round(rnorm(6, 12, 1.5), 1), b = round(rnorm(9, 9, 1.5), 1), better = "lower",
  day_a = c(-14, -11, -9, -5, -3, -1), day_b = c(1, 2, 4, 5, 7, 8, 10, 13, 15))

out <- list()
for (nm in names(series)) {
  s <- series[[nm]]
  m <- length(s$a); n <- length(s$b)
  if (is.null(s$day_a)) { s$day_a <- seq_len(m); s$day_b <- m + seq_len(n) }
  sg <- if (s$better == "lower") -1 else 1
  A <- sg * s$a; B <- sg * s$b
  y <- c(A, B)
  nap <- sces_nap(A, B)
  ties <- length(unique(y)) < length(y)
  w <- wilcox.test(B, A, exact = !ties, correct = TRUE)
  k_ab <- cor.test(y, c(rep(0, m), rep(1, n)), method = "kendall", exact = FALSE,
                   continuity = FALSE)
  k_tr <- cor.test(y, c(m:1, rep(m + 1, n)), method = "kendall", exact = FALSE,
                   continuity = FALSE)
  day <- c(s$day_a, s$day_b); D <- c(rep(0, m), rep(1, n)); t0 <- min(s$day_b)
  value <- c(s$a, s$b)
  fit <- lm(value ~ day + D + I((day - t0) * D))
  cf <- summary(fit)$coefficients
  ci <- confint(fit)
  e <- residuals(fit)
  out[[nm]] <- list(
    a = s$a, b = s$b, better = s$better, day_a = s$day_a, day_b = s$day_b,
    nap = nap, wilcox_w = unname(w$statistic), wilcox_p = w$p.value, wilcox_exact = !ties,
    kendall_ab_z = unname(k_ab$statistic), kendall_ab_p = k_ab$p.value,
    kendall_trend_z = unname(k_tr$statistic), kendall_trend_p = k_tr$p.value,
    lm_estimate = unname(cf[2:4, 1]), lm_se = unname(cf[2:4, 2]), lm_t = unname(cf[2:4, 3]),
    lm_p = unname(cf[2:4, 4]), lm_ci_low = unname(ci[2:4, 1]), lm_ci_high = unname(ci[2:4, 2]),
    lm_df = fit$df.residual,
    resid_acf1 = acf(e, lag.max = 1, plot = FALSE)$acf[2],
    durbin_watson = sum(diff(e)^2) / sum(e^2)
  )
}
dir.create("tests/fixtures/phase", showWarnings = FALSE, recursive = TRUE)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE),
           "tests/fixtures/phase/phase_r.json")
cat("wrote tests/fixtures/phase/phase_r.json with", R.version.string, "\n")

# ---- dose titration group model (tests/test_dose.py) ------------------------------------
# value ~ dose_ug_day + (1 + dose_ug_day | patient_id), REML, lmerTest Satterthwaite df.
# Writes tests/fixtures/phase/dose_group.csv (the data) and dose_group_r.json (the fit).
suppressPackageStartupMessages({library(lme4); library(lmerTest)})
set.seed(20261127)
doses <- c(25, 50, 75, 100, 125)
pid <- sprintf("P%02d", 1:6)
grid <- expand.grid(dose_ug_day = doses, patient_id = pid, stringsAsFactors = FALSE)
b0 <- rnorm(6, 0, 0.6); b1 <- rnorm(6, 0, 0.01)
idx <- match(grid$patient_id, pid)
grid$value <- round(12 + b0[idx] + (-0.02 + b1[idx]) * grid$dose_ug_day + rnorm(nrow(grid), 0, 0.3), 2)
grid$measure <- "tug"; grid$side <- ""; grid$phase <- "test_infusion"
grid$day <- match(grid$dose_ug_day, doses) * 2
grid$visit <- paste0("ti_d", grid$day)
write.csv(grid[, c("patient_id", "visit", "measure", "side", "phase", "day", "dose_ug_day",
                   "value")], "tests/fixtures/phase/dose_group.csv", row.names = FALSE)
fit <- lmer(value ~ dose_ug_day + (1 + dose_ug_day | patient_id), data = grid, REML = TRUE)
cf <- summary(fit)$coefficients
writeLines(toJSON(list(
  term = rownames(cf), estimate = unname(cf[, "Estimate"]), se = unname(cf[, "Std. Error"]),
  df = unname(cf[, "df"]), t = unname(cf[, "t value"]), p = unname(cf[, "Pr(>|t|)"]),
  reml_deviance = unname(REMLcrit(fit)), singular = isSingular(fit),
  lme4 = as.character(packageVersion("lme4")),
  lmerTest = as.character(packageVersion("lmerTest"))),
  digits = NA, auto_unbox = TRUE, pretty = TRUE), "tests/fixtures/phase/dose_group_r.json")
cat("wrote tests/fixtures/phase/dose_group.csv and dose_group_r.json\n")
