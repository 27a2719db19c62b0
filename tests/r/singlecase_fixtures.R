# Reference values for tests/test_single_case_controls.py and tests/test_individual_change.py.
# Run from the repository root:  Rscript tests/r/singlecase_fixtures.R
# Base R only (singcar is not installable here): the Crawford-Howell t from pt(), the exact
# noncentral-t limits of Crawford & Garthwaite (2002) by uniroot() on pt(q, df, ncp), and the
# 50% point (median-unbiased ncp), and the
# binomial intervals from binom.test() (Clopper-Pearson) and prop.test(correct = FALSE) (Wilson).
out <- "tests/fixtures/singlecase"
dir.create(out, showWarnings = FALSE, recursive = TRUE)

cases <- data.frame(
  x    = c(-1.754857, -2, 2, 33, 1.434, 14.2, 0.55, 0, 5),
  mean = c(0, 0, 0, 51, 1.31, 9.2, 1.31, 0, 0),
  sd   = c(1, 1, 1, 12.5, 0.11, 2.1, 0.11, 1, 1),
  n    = c(28, 15, 20, 5, 10, 40, 12, 9, 3)
)
ncp_limits <- function(t_obs, df, level = 0.95) {
  a <- 1 - level
  f <- function(d, p) suppressWarnings(pt(t_obs, df, ncp = d)) - p
  lo <- uniroot(f, c(t_obs - 60, t_obs + 60), p = 1 - a / 2, tol = 1e-13)$root
  hi <- uniroot(f, c(t_obs - 60, t_obs + 60), p = a / 2, tol = 1e-13)$root
  c(lo, hi)
}
# the median-unbiased ncp: the 50% point of the same inversion (the point estimate of the
# percentage of controls more extreme, Phi(ncp_0.5 / sqrt(n)))
ncp_median <- function(t_obs, df) {
  f <- function(d) suppressWarnings(pt(t_obs, df, ncp = d)) - 0.5
  uniroot(f, c(t_obs - 60, t_obs + 60), tol = 1e-13)$root
}
res <- do.call(rbind, lapply(seq_len(nrow(cases)), function(i) {
  x <- cases$x[i]; m <- cases$mean[i]; s <- cases$sd[i]; n <- cases$n[i]
  t <- (x - m) / (s * sqrt((n + 1) / n)); df <- n - 1
  zcc <- (x - m) / s
  lim <- ncp_limits(zcc * sqrt(n), df)
  data.frame(x = x, mean = m, sd = s, n = n, t = t, df = df,
             p_less = pt(t, df), p_greater = pt(t, df, lower.tail = FALSE),
             p_two = 2 * pt(-abs(t), df), zcc = zcc,
             zcc_lo = lim[1] / sqrt(n), zcc_hi = lim[2] / sqrt(n),
             zcc_mid = ncp_median(zcc * sqrt(n), df) / sqrt(n))
}))
write.csv(res, file.path(out, "crawford_howell_r.csv"), row.names = FALSE)

props <- data.frame(k = c(81, 15, 0, 1, 29, 12, 3, 5), n = c(263, 148, 20, 29, 29, 20, 4, 5))
pr <- do.call(rbind, lapply(seq_len(nrow(props)), function(i) {
  k <- props$k[i]; n <- props$n[i]
  cp <- binom.test(k, n)$conf.int
  w <- prop.test(k, n, correct = FALSE)$conf.int
  data.frame(k = k, n = n, wilson_lo = w[1], wilson_hi = w[2], cp_lo = cp[1], cp_hi = cp[2])
}))
write.csv(pr, file.path(out, "proportions_r.csv"), row.names = FALSE)
cat(R.version.string, "\n", file = file.path(out, "R_VERSION"))
