# High-precision reference for MTD's "pmd" abnormality (analysis.stats.single_case.multivariate;
# tests/test_single_case_singcar.py). Run from the repository root:
#   Rscript tests/r/mtd_pmd_reference.R
# Needs jsonlite. Writes tests/fixtures/singlecase/mtd_pmd_reference.json.
# Elfadaly, Garthwaite & Crawford (2016): the posterior of the patient's population Mahalanobis
# index lambda is proportional to the chi-square(k) prior times the noncentral F likelihood of
# the observed statistic F0 = n (n - k) / ((n - 1) k) lambda_hat:
#   dchisq(lambda, k) * df(F0, k, n - k, ncp = n * lambda).
# singcar 0.1.5 computes the same posterior from a Poisson series truncated at 170 terms with
# integrate()'s default tolerance (1e-4) and finds quantiles by nlminb on |cdf - q|; here the
# posterior is integrated over the distance t = sqrt(lambda) (chi(k) prior density) with
# rel.tol 1e-12 and the quantiles are found with uniroot (tol 1e-14).
suppressPackageStartupMessages(library(jsonlite))
pmd <- function(lamhat, k, n, conf = 0.95) {
  F0 <- n * (n - k) / ((n - 1) * k) * lamhat
  # 2 t dchisq(t^2, k) is the chi density, written out so that it is finite at 0 for k = 1
  dens <- function(t) 2 * t^(k - 1) * exp(-t^2 / 2) / (2^(k / 2) * gamma(k / 2)) *
    df(F0, k, n - k, ncp = n * t^2)
  top <- sqrt(qchisq(1e-16, k, lower.tail = FALSE))
  mid <- min(sqrt(lamhat), top)
  cuts <- sort(unique(c(0, mid / 2, mid, (mid + top) / 2, top)))
  mass <- function(a, b) integrate(dens, a, b, rel.tol = 1e-12, abs.tol = 0,
                                   subdivisions = 1000L)$value
  pieces <- cumsum(mapply(mass, cuts[-length(cuts)], cuts[-1]))
  total <- pieces[length(pieces)]
  quant <- function(q) {
    i <- findInterval(q * total, pieces) + 1
    below <- if (i > 1) pieces[i - 1] else 0
    uniroot(function(x) below + mass(cuts[i], x) - q * total, c(cuts[i], cuts[i + 1]),
            tol = 1e-14)$root^2
  }
  lam <- sapply(c(0.5, (1 - conf) / 2, (1 + conf) / 2), quant)
  list(index = lam[1], index_interval = lam[2:3],
       share = pchisq(lam[1], k, lower.tail = FALSE),
       share_interval = pchisq(lam[3:2], k, lower.tail = FALSE))
}
maha2 <- function(case, controls) {
  d <- case - colMeans(controls)
  drop(t(d) %*% solve(cov(controls)) %*% d)
}
swi <- read.csv("tests/fixtures/singlecase/size_weight_illusion.csv")
case <- swi[1, ]
ctrl <- swi[-1, ]
two <- cbind(ctrl$V_SWI, ctrl$K_SWI)
doc <- matrix(c(0.2, 0.22, 0.1, 0.15, 0.15, 0.12, 0.3, 0.28, 0.18, 0.2, 0.12, 0.1, 0.22, 0.3,
                0.05, 0.09), ncol = 2, byrow = TRUE)
out <- list(
  swi = pmd(maha2(c(case$V_SWI, case$K_SWI), two), 2, nrow(two)),
  swi3 = pmd(maha2(c(case$V_SWI, case$K_SWI, case$YRS), cbind(two, ctrl$YRS)), 3, nrow(two)),
  near = pmd(maha2(colMeans(two) + c(0.01, 0), two), 2, nrow(two)),
  summary = pmd(2.5^2, 3, 20),
  doc = pmd(maha2(c(0, 0.25), doc), 2, nrow(doc)),
  one_measure = pmd(1.7^2, 1, 12),
  versions = list(R = paste(R.version$major, R.version$minor, sep = ".")))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           "tests/fixtures/singlecase/mtd_pmd_reference.json")
