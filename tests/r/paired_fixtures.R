# Reference values for tests/test_paired.py and tests/test_effect_sizes.py.
# Run from the repository root:  Rscript tests/r/paired_fixtures.R
# Writes tests/fixtures/paired/data.csv (dataset, pair, x, y; x = follow-up, y = baseline)
# and tests/fixtures/paired/results.csv (dataset, quantity, value, source).
# Packages: stats (R), effectsize (0.8.3 on the machine that made the fixtures), coin.
# Independent R code (not effectsize) is used where effectsize 0.8.3 has no function:
# d_av and its Algina-Keselman interval (noncentral t limits by uniroot on pt(ncp = )).
suppressPackageStartupMessages({library(effectsize); library(coin)})

datasets <- list()
# Lakens (2013) movie ratings
datasets$movie <- list(x = c(9, 7, 8, 9, 8, 9, 9, 10, 9, 9), y = c(9, 6, 7, 8, 7, 9, 8, 8, 8, 7))
# R's sleep data: group 2 (follow-up) vs group 1 (baseline), paired by ID
datasets$sleep <- list(x = sleep$extra[sleep$group == 2], y = sleep$extra[sleep$group == 1])
# Hollander & Wolfe (1973), the wilcox.test example
datasets$hollander_wolfe <- list(
  x = c(1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30),
  y = c(0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29))
# seeded random data with ties and zero differences (rounded values), n = 14
set.seed(20261124)
b <- round(rnorm(14, 20, 4))
datasets$random_ties <- list(x = b + round(rnorm(14, -1, 2.5)), y = b)
# seeded random data, n = 5, no ties
set.seed(5)
b5 <- round(rnorm(5, 1.0, 0.3), 3)
datasets$random_n5 <- list(x = round(b5 + rnorm(5, 0.1, 0.1), 3), y = b5)
# seeded random MAS-like codes (0, 1, 1.5, 2, 3, 4): ties and zeros, n = 12
set.seed(42)
codes <- c(0, 1, 1.5, 2, 3, 4)
bi <- sample(2:6, 12, replace = TRUE)
fi <- pmin(pmax(bi - sample(c(-1, 0, 1, 1, 2), 12, replace = TRUE), 1), 6)
datasets$random_mas <- list(x = codes[fi], y = codes[bi])

nct_limits <- function(t, df, conf = 0.95) {
  a <- (1 - conf) / 2
  f <- function(ncp, p) pt(t, df, ncp) - p
  w <- 10 + abs(t)
  c(uniroot(f, c(t - w, t + w), p = 1 - a, tol = 1e-12)$root,
    uniroot(f, c(t - w, t + w), p = a, tol = 1e-12)$root)
}

rows <- list()
add <- function(ds, q, v, src) rows[[length(rows) + 1]] <<- data.frame(dataset = ds, quantity = q, value = v, source = src)
data_rows <- list()
for (nm in names(datasets)) {
  x <- datasets[[nm]]$x; y <- datasets[[nm]]$y; d <- x - y; n <- length(d)
  data_rows[[nm]] <- data.frame(dataset = nm, pair = seq_len(n), x = x, y = y)
  tt <- t.test(x, y, paired = TRUE)
  add(nm, "mean_difference", unname(tt$estimate), "stats::t.test(x, y, paired = TRUE)")
  add(nm, "md_se", unname(tt$stderr), "stats::t.test")
  add(nm, "md_ci_low", tt$conf.int[1], "stats::t.test")
  add(nm, "md_ci_high", tt$conf.int[2], "stats::t.test")
  add(nm, "t", unname(tt$statistic), "stats::t.test")
  add(nm, "t_df", unname(tt$parameter), "stats::t.test")
  add(nm, "t_p", tt$p.value, "stats::t.test")
  nz <- d[d != 0]; ties <- any(duplicated(abs(nz))); zeros <- any(d == 0)
  wn <- suppressWarnings(wilcox.test(x, y, paired = TRUE, exact = FALSE, correct = FALSE))
  add(nm, "V", unname(wn$statistic), "stats::wilcox.test(x, y, paired = TRUE)")
  add(nm, "w_normal_p", wn$p.value, "stats::wilcox.test(paired = TRUE, exact = FALSE, correct = FALSE)")
  m <- length(nz)
  add(nm, "w_normal_z", sign(unname(wn$statistic) - m * (m + 1) / 4) * qnorm(wn$p.value / 2, lower.tail = FALSE),
      "z from wilcox.test(correct = FALSE) p: sign(V - m(m+1)/4) * qnorm(p / 2, lower = FALSE)")
  if (!ties && !zeros) {
    we <- wilcox.test(x, y, paired = TRUE, exact = TRUE)
    add(nm, "w_exact_p", we$p.value, "stats::wilcox.test(paired = TRUE, exact = TRUE)")
  }
  # conditional exact p given the mid-ranks, zeros dropped (as wilcox.test) -- coin
  cw <- wilcoxsign_test(x ~ y, distribution = "exact", zero.method = "Wilcoxon")
  add(nm, "w_exact_cond_p", pvalue(cw), "coin::wilcoxsign_test(distribution = 'exact', zero.method = 'Wilcoxon')")
  cd <- as.data.frame(cohens_d(x, y, paired = TRUE))
  add(nm, "dz", cd$Cohens_d, "effectsize::cohens_d(x, y, paired = TRUE) [d_z in effectsize 0.8.3]")
  add(nm, "dz_ci_low", cd$CI_low, "effectsize::cohens_d(paired = TRUE)")
  add(nm, "dz_ci_high", cd$CI_high, "effectsize::cohens_d(paired = TRUE)")
  s_av <- (sd(x) + sd(y)) / 2; s_rms <- sqrt((sd(x)^2 + sd(y)^2) / 2)
  lam <- nct_limits(mean(d) / (sd(d) / sqrt(n)), n - 1)
  add(nm, "dav", mean(d) / s_av, "mean(d) / ((sd(x) + sd(y)) / 2)  [Lakens 2013 eq. 10]")
  add(nm, "dav_ci_low", lam[1] * sd(d) / (sqrt(n) * s_av), "Algina-Keselman: uniroot on pt(ncp) * sd(d) / (sqrt(n) * s_av)")
  add(nm, "dav_ci_high", lam[2] * sd(d) / (sqrt(n) * s_av), "Algina-Keselman, as above")
  add(nm, "dav_rms", mean(d) / s_rms, "mean(d) / sqrt((sd(x)^2 + sd(y)^2) / 2)  [Cumming]")
  add(nm, "dav_rms_ci_low", lam[1] * sd(d) / (sqrt(n) * s_rms), "Algina-Keselman, Cumming standardizer")
  add(nm, "dav_rms_ci_high", lam[2] * sd(d) / (sqrt(n) * s_rms), "Algina-Keselman, Cumming standardizer")
  J <- 1 - 3 / (4 * (n - 1) - 1)
  add(nm, "gav", J * mean(d) / s_av, "d_av * (1 - 3 / (4(n - 1) - 1))")
  add(nm, "gav_ci_low", J * lam[1] * sd(d) / (sqrt(n) * s_av), "d_av CI * J")
  add(nm, "gav_ci_high", J * lam[2] * sd(d) / (sqrt(n) * s_av), "d_av CI * J")
  # effectsize 0.8.3's paired = TRUE path counts nd = sum(x != 0) on the raw x (not on the
  # differences), so its SE ignores zero differences being dropped; current effectsize
  # computes the differences first. rank_biserial(x - y) (one sample on the differences) gives
  # the current behaviour (nd = number of non-zero differences) and is the reference.
  rb <- as.data.frame(rank_biserial(d, verbose = FALSE))
  add(nm, "rb", rb$r_rank_biserial, "effectsize::rank_biserial(x - y)")
  add(nm, "rb_ci_low", rb$CI_low, "effectsize::rank_biserial(x - y), Fisher z, nd = non-zero differences")
  add(nm, "rb_ci_high", rb$CI_high, "effectsize::rank_biserial(x - y)")
  rb2 <- as.data.frame(rank_biserial(x, y, paired = TRUE, verbose = FALSE))
  add(nm, "rb_paired083", rb2$r_rank_biserial, "effectsize 0.8.3 rank_biserial(x, y, paired = TRUE)")
  add(nm, "rb_paired083_ci_low", rb2$CI_low, "effectsize 0.8.3 paired = TRUE (nd counts x != 0)")
  add(nm, "rb_paired083_ci_high", rb2$CI_high, "effectsize 0.8.3 paired = TRUE (nd counts x != 0)")
  add(nm, "median_difference", median(d), "stats::median(x - y)")
}
write.csv(do.call(rbind, data_rows), "tests/fixtures/paired/data.csv", row.names = FALSE)
res <- do.call(rbind, rows)
res$value <- trimws(formatC(res$value, digits = 15, format = "g"))
write.csv(res, "tests/fixtures/paired/results.csv", row.names = FALSE)
cat("R", R.version$major, R.version$minor, "effectsize", format(packageVersion("effectsize")),
    "coin", format(packageVersion("coin")), "\n")
