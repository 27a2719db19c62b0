# Reference values for tests/test_single_case_singcar.py: singcar's MTD, BTD_cov, BSDT_cov and
# BSDT. Run from the repository root:
#   Rscript tests/r/singcar_fixtures.R [library]
# singcar 0.1.5 and CholWishart 1.1.4 are not on CRAN reach here: both were installed from
# their GitHub snapshots (jorittmo/singcar, gzt/CholWishart) with
# `R CMD INSTALL --library=/tmp/rlib_sc <dir>` (CholWishart first; MASS and withr from Debian).
# Writes tests/fixtures/singlecase/singcar_r.json. The Bayesian tests are Monte Carlo: they run
# with many draws and the tests compare within a few Monte Carlo standard errors.
suppressPackageStartupMessages(library(jsonlite))
args <- commandArgs(trailingOnly = TRUE)
lib <- if (length(args) >= 1) args[1] else "/tmp/rlib_sc"
.libPaths(c(lib, .libPaths()))
suppressPackageStartupMessages(library(singcar))

swi <- read.csv("tests/fixtures/singlecase/size_weight_illusion.csv")
case <- swi[1, ]
ctrl <- swi[-1, ]
set.seed(20261206)

htest <- function(x) {
  list(statistic = unname(x$statistic), p = unname(x$p.value),
       estimate = unname(x$estimate),
       interval = lapply(x$interval, unname), parameter = unname(x$parameter))
}

mtd <- list()
for (m in c("pd", "pchi", "pf", "pmd")) {
  mtd[[paste0("swi_", m)]] <- htest(MTD(c(case$V_SWI, case$K_SWI),
                                        cbind(ctrl$V_SWI, ctrl$K_SWI), method = m))
  mtd[[paste0("swi3_", m)]] <- htest(MTD(c(case$V_SWI, case$K_SWI, case$YRS),
                                         cbind(ctrl$V_SWI, ctrl$K_SWI, ctrl$YRS), method = m))
  # a case close to the controls' means (the median-unbiased estimate reaches 0)
  mtd[[paste0("near_", m)]] <- htest(MTD(colMeans(cbind(ctrl$V_SWI, ctrl$K_SWI)) + c(0.01, 0),
                                         cbind(ctrl$V_SWI, ctrl$K_SWI), method = m))
  # the example of analysis.stats.single_case.multivariate.mtd
  doc <- matrix(c(0.2, 0.22, 0.1, 0.15, 0.15, 0.12, 0.3, 0.28, 0.18, 0.2, 0.12, 0.1, 0.22, 0.3,
                  0.05, 0.09), ncol = 2, byrow = TRUE)
  mtd[[paste0("doc_", m)]] <- htest(MTD(c(0, 0.25), doc, method = m))
  mtd[[paste0("summary_", m)]] <- htest(MTD(mahalanobis_dist = 2.5, k = 3, n = 20, method = m,
                                            case = NULL, controls = NULL))
}

iter <- 100000
bayes <- list(
  btd_cov_swi = htest(BTD_cov(case$V_SWI, case$YRS, ctrl$V_SWI, ctrl$YRS, iter = iter)),
  # Crawford, Garthwaite & Ryan's example as summary statistics
  btd_cov_summary = htest(BTD_cov(78, 13, c(100, 15), c(13, 3), use_sumstats = TRUE,
                                  cor_mat = matrix(c(1, 0.65, 0.65, 1), 2), sample_size = 18,
                                  iter = iter)),
  bsdt_cov_calibrated = htest(BSDT_cov(c(case$V_SWI, case$K_SWI), case$YRS,
                                       cbind(ctrl$V_SWI, ctrl$K_SWI), ctrl$YRS, iter = iter)),
  bsdt_cov_standard = htest(BSDT_cov(c(case$V_SWI, case$K_SWI), case$YRS,
                                     cbind(ctrl$V_SWI, ctrl$K_SWI), ctrl$YRS,
                                     calibrated = FALSE, iter = iter)),
  bsdt_cov_summary_standard = htest(BSDT_cov(
    c(80, 110), 13, matrix(c(100, 100, 15, 15), 2), matrix(c(13, 3), ncol = 2),
    use_sumstats = TRUE,
    cor_mat = matrix(c(1, 0.6, 0.5, 0.6, 1, 0.5, 0.5, 0.5, 1), 3), sample_size = 20,
    calibrated = FALSE, iter = iter)),
  bsdt_standard = htest(BSDT(case$V_SWI, case$K_SWI, ctrl$V_SWI, ctrl$K_SWI,
                             calibrated = FALSE, iter = iter)),
  bsdt_calibrated = htest(BSDT(case$V_SWI, case$K_SWI, ctrl$V_SWI, ctrl$K_SWI, iter = iter))
)

out <- list(
  versions = list(R = paste(R.version$major, R.version$minor, sep = "."),
                  singcar = as.character(packageVersion("singcar", lib.loc = lib)),
                  CholWishart = as.character(packageVersion("CholWishart", lib.loc = lib)),
                  MASS = as.character(packageVersion("MASS"))),
  iter = iter, seed = 20261206, mtd = mtd, bayes = bayes)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           "tests/fixtures/singlecase/singcar_r.json")
