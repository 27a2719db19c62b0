# The simulations of benchmarks/bench_plan.py in R, for timing against `itb plan`.
# Usage: Rscript benchmarks/bench_plan.R KIND N_SIM SEED   (KIND: case_series | ab | titration)
# Prints the power of each test. Designs as benchmarks/bench_plan.py writes them for itb plan:
#   case_series: n 10, visits baseline/m3/m6 (m6 tested), effect 0.3, sd_between 0.5,
#     sd_within 0.4, dropout 0.05 per follow-up; paired t (t.test), exact Wilcoxon
#     (wilcox.test), lmer value ~ visit + (1 | patient) REML with lmerTest's Satterthwaite df.
#   ab / titration: 7 + 7 days, effect -1, sd 0.5, AR(1) 0.3, ramp 4 days (titration);
#     NAP (with the Mann-Whitney p of wilcox.test), Tau-U A vs B - trend A (Kendall S of
#     Parker's time coding, cor.test(method = "kendall", exact = FALSE)), piecewise
#     regression (lm, level change t test). SingleCaseES is not installed here, so NAP's
#     Newcombe interval is not computed on the R side (itb plan computes it).
suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
})
args <- commandArgs(TRUE)
kind <- args[1]
nsim <- as.integer(args[2])
set.seed(as.integer(args[3]))
alpha <- 0.05

if (kind == "case_series") {
  n <- 10; k <- 3; effect <- 0.3; sdb <- 0.5; sdw <- 0.4; dropout <- 0.05
  visits <- factor(c("baseline", "m3", "m6"), levels = c("baseline", "m3", "m6"))
  rej <- c(paired_t = 0, wilcoxon = 0, lmm = 0)
  for (s in seq_len(nsim)) {
    b <- rnorm(n, 0, sdb)
    e <- matrix(rnorm(n * k, 0, sdw), n, k)
    y <- b + e + effect * matrix(rep(c(0, 1, 1), each = n), n, k)
    lost <- matrix(runif(n * (k - 1)) < dropout, n, k - 1)
    present <- cbind(TRUE, t(apply(lost, 1, cumsum)) == 0)
    d <- data.frame(patient_id = factor(rep(seq_len(n), k)), visit = rep(visits, each = n),
                    value = as.vector(y))[as.vector(present), ]
    both <- present[, k]
    pt <- t.test(y[both, k], y[both, 1], paired = TRUE)$p.value
    pw <- wilcox.test(y[both, k], y[both, 1], paired = TRUE, exact = TRUE)$p.value
    fit <- suppressMessages(lmer(value ~ visit + (1 | patient_id), data = d, REML = TRUE))
    co <- summary(fit, ddf = "Satterthwaite")$coefficients
    pl <- co["visitm6", "Pr(>|t|)"]
    ci <- co["visitm6", "Estimate"] + c(-1, 1) * qt(1 - alpha / 2, co["visitm6", "df"]) *
      co["visitm6", "Std. Error"]
    rej <- rej + c(pt < alpha, pw < alpha, pl < alpha)
  }
} else {
  na <- 7; nb <- 7; effect <- -1; sd <- 0.5; phi <- 0.3
  ramp <- if (kind == "titration") 4 else 0
  days <- seq_len(na + nb)
  phase <- as.numeric(days > na)
  kk <- pmax(days - na, 0)
  response <- if (ramp <= 0) phase else pmin(1, kk / ramp)
  x_tau <- c(na:1, rep(na + 1, nb))
  rej <- c(nap = 0, tau_u = 0, piecewise = 0)
  for (s in seq_len(nsim)) {
    z <- rnorm(na + nb)
    e <- numeric(na + nb)
    e[1] <- sd * z[1]
    for (t in 2:(na + nb)) e[t] <- phi * e[t - 1] + sd * sqrt(1 - phi^2) * z[t]
    y <- effect * response + e
    a <- y[1:na]; bb <- y[(na + 1):(na + nb)]
    nap <- mean(outer(bb, a, ">") + 0.5 * outer(bb, a, "=="))
    p_nap <- wilcox.test(bb, a, exact = TRUE)$p.value
    p_tau <- suppressWarnings(cor.test(x_tau, y, method = "kendall", exact = FALSE,
                                       continuity = FALSE)$p.value)
    t0 <- na + 1
    fit <- lm(y ~ days + phase + I((days - t0) * phase))
    p_pw <- summary(fit)$coefficients["phase", "Pr(>|t|)"]
    rej <- rej + c(p_nap < alpha, p_tau < alpha, p_pw < alpha)
  }
}
cat(paste(names(rej), format(rej / nsim, digits = 3), sep = "=", collapse = " "), "\n")
