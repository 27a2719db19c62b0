# Reference values for tests/test_single_case_packages.py: SingleCaseES and scan on the same
# AB series.  Run from the repository root:
#   Rscript tests/r/single_case_packages_fixtures.R <SingleCaseES library> <scan source R/ dir>
# Neither package is on CRAN reach here: SingleCaseES 0.7.4 was installed from its GitHub
# snapshot (jepusto/SingleCaseES, `R CMD INSTALL -l <lib> .`, its Imports are in Debian);
# scan 0.67.1's Imports (MCMCglmm, gt, kableExtra) are not, so its R/ files are sourced into an
# environment (jazznbass/scan GitHub snapshot) and only tau_u() and rand_test() are called,
# which need base R. Writes tests/fixtures/singlecase/packages_r.json.
suppressPackageStartupMessages(library(jsonlite))
args <- commandArgs(trailingOnly = TRUE)
sces_lib <- if (length(args) >= 1) args[1] else "/tmp/rlib_sc"
scan_dir <- if (length(args) >= 2) args[2] else "/tmp/src_sc/jazznbass+scan/R"
suppressPackageStartupMessages(library(SingleCaseES, lib.loc = sces_lib))

scan <- new.env()
scan$citation <- function(...) "scan (sourced)"
files <- list.files(scan_dir, pattern = "[.]R$", full.names = TRUE)
first <- grepl("private_options[.]R$", files)
for (f in c(files[first], files[!first])) try(sys.source(f, envir = scan), silent = TRUE)
attach(scan, name = "scan_sources", warn.conflicts = FALSE)
scan_version <- read.dcf(file.path(dirname(scan_dir), "DESCRIPTION"))[, "Version"]

series <- list(
  # Parker, Vannest & Davis (2011), Behavior Modification 35:303-322 (scan's Parker2011b)
  pvd2011 = list(a = c(20, 20, 26, 25, 22, 23), b = c(28, 25, 24, 27, 30, 30, 29)),
  # Parker & Vannest (2009), NAP example (SingleCaseES ?NAP)
  pv2009 = list(a = c(4, 3, 4, 3, 4, 7, 5, 2, 3, 2), b = c(5, 9, 7, 9, 7, 5, 9, 11, 11, 10, 9)),
  # Parker, Vannest, Davis & Sauber (2011), Behavior Therapy 42:284-299 (scan's Parker2011)
  pvds2011 = list(a = c(2, 3, 5, 3), b = c(4, 5, 5, 7, 6)),
  # MAS-like with ties across phases, higher = more spastic
  mas_ties = list(a = c(3, 2, 3, 3, 2), b = c(2, 2, 1.5, 1.5, 1, 1, 1.5)),
  # Huitema & McKean (2000) (scan's Huitema2000): a trend reversal
  huitema2000 = list(a = c(58, 70, 79, 85, 93, 94, 105, 110, 122, 130),
                     b = c(122, 110, 103, 88, 81, 68, 53, 50, 36, 31))
)
set.seed(20261206)
series$random <- list(a = round(rnorm(7, 10, 2), 1), b = round(rnorm(8, 12, 2), 1))

out <- list(versions = list(R = R.version.string,
                            SingleCaseES = as.character(packageVersion("SingleCaseES", lib.loc = sces_lib)),
                            scan = unname(scan_version)),
            series = list())
stats_rand <- c(mean = "Mean B-A", median = "Median B-A", nap = "NAP", slope = "Slope B-A",
                smd_glass = "SMD glass", smd_hedges = "SMD hedges", t = "T-test")
for (nm in names(series)) {
  s <- series[[nm]]
  rec <- list(a = s$a, b = s$b)
  for (se in c("unbiased", "Hanley", "null")) {
    r <- NAP(A_data = s$a, B_data = s$b, SE = se)
    rec[[paste0("nap_", tolower(se))]] <- list(est = r$Est, se = r$SE)
  }
  rec$sces_tau_u <- Tau_U(A_data = s$a, B_data = s$b)$Est
  d <- scdf(values = c(s$a, s$b), phase_design = c(A = length(s$a), B = length(s$b)))
  for (m in c("parker", "tarlow", "complete")) {
    t <- suppressWarnings(tau_u(d, method = m, meta_analyses = FALSE))$table[[1]]
    rec[[paste0("scan_tau_", m)]] <- list(
      variant = rownames(t), S = t$S, D = t$D, tau = t$Tau, z = t$Z, p = t$p,
      ci_low = t$`CI lower`, ci_high = t$`CI upper`)
  }
  rt <- list()
  for (k in names(stats_rand)) {
    r <- suppressWarnings(rand_test(d, statistic = stats_rand[[k]], limit = 3,
                                         complete = TRUE))
    rt[[k]] <- list(observed = unname(r$observed.statistic), p = r$p.value,
                    distribution = unname(r$distribution))
  }
  rec$scan_rand_test <- rt
  out$series[[nm]] <- rec
}
dir.create("tests/fixtures/singlecase", showWarnings = FALSE, recursive = TRUE)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"),
           "tests/fixtures/singlecase/packages_r.json")
