# Reference fixtures for analysis.stats.ordinal (tests/test_clmm.py).
# Run from the repository root:  Rscript tests/r/clmm_fixtures.R
# Needs ordinal. Writes tests/fixtures/clmm/:
#   data_<name>.csv  the simulated data (tidy long format; `value` holds the codebook code)
#   coef.csv         thresholds and fixed effects: estimate, se, z, p (summary(clmm))
#   fit.csv          logLik, AIC, ST (SD of the patient intercept), variance, nobs, ngroups
#   VERSIONS         R and ordinal versions
# Every model: value ~ visit + (1 | patient_id), links logit and probit, Laplace (nAGQ = 1) and
# adaptive Gauss-Hermite quadrature (nAGQ = 10). Tolerances are tightened so that R reports its
# exact optimum: the inner Newton tolerance (gradTol, default 1e-4) to 1e-8 (clmm takes each
# patient's curvature D from the Newton step before the last, so a loose tolerance moves the
# Laplace logLik by up to 1e-4), and the outer optimiser is ucminf with grtol 1e-8 (nlminb
# stops at gradients of up to 6e-4). The defaults move estimates by up to 2e-3 relative:
# columns logLik_default and max_rel_diff_default of fit.csv record the default fit.
suppressPackageStartupMessages(library(ordinal))
out <- file.path("tests", "fixtures", "clmm")
dir.create(out, showWarnings = FALSE, recursive = TRUE)

mas_levels <- c("0", "1", "1+", "2", "3", "4")
mas_codes <- c(0, 1, 1.5, 2, 3, 4)
simulate <- function(np, visits, effects, tau, cuts, seed, prefix = "P", side = "") {
  set.seed(seed)
  b <- rnorm(np, 0, tau)
  d <- expand.grid(visit = visits, patient_id = sprintf("%s%03d", prefix, seq_len(np)),
                   stringsAsFactors = FALSE)[, c("patient_id", "visit")]
  eta <- effects[match(d$visit, visits)] + b[match(d$patient_id, unique(d$patient_id))]
  latent <- eta + rlogis(nrow(d))
  k <- findInterval(latent, cuts) + 1
  d$measure <- "mas_knee_ext"
  d$side <- side
  d$value <- mas_codes[k]
  d
}
visits4 <- c("baseline", "ti_d3", "post_m3", "post_m6")
visits5 <- c("baseline", "ti_d3", "post_m1", "post_m3", "post_m6")
cuts <- c(-1.5, -0.5, 0.3, 1.2, 2.5)

datasets <- list()
datasets$balanced <- simulate(20, visits4, c(0, -1.2, -1.5, -1.0), 1.2, cuts, 23101)
d <- simulate(24, visits5, c(0, -1, -1.6, -1.4, -1.2), 1.0, cuts, 23102)
drop <- sample(which(d$visit != "baseline"), round(0.2 * sum(d$visit != "baseline")))
datasets$missing <- d[-drop, ]
datasets$sparse_top <- simulate(18, visits4, c(0, -0.8, -1.2, -1.0), 0.8,
                                c(-1.0, 0.0, 0.8, 2.0, 4.2), 23103)
# no patient variance in the simulation: a small estimate (near_zero), and one on the boundary
# (ST about 1e-4, where clmm cannot invert its Hessian: its SEs are those of clm, se_source)
datasets$near_zero <- simulate(16, visits4, c(0, -1.0, -1.3, -1.1), 0.0, cuts, 23120)
datasets$boundary <- simulate(16, visits4, c(0, -1.0, -1.3, -1.1), 0.0, cuts, 23105)
left <- simulate(15, visits4, c(0, -1.0, -1.4, -1.2), 1.1, cuts, 23105, side = "L")
right <- simulate(15, visits4, c(0, -0.7, -1.1, -0.9), 1.1, cuts, 23106, side = "R")
datasets$sided <- rbind(left, right)

coef_rows <- list()
fit_rows <- list()
for (name in names(datasets)) {
  data <- datasets[[name]]
  write.csv(data, file.path(out, paste0("data_", name, ".csv")), row.names = FALSE,
            na = "")
  for (side in unique(data$side)) {
    d <- data[data$side == side, ]
    lev <- mas_levels[mas_codes %in% d$value]
    d$y <- factor(mas_levels[match(d$value, mas_codes)], levels = lev, ordered = TRUE)
    d$visit <- factor(d$visit, levels = intersect(c(visits5), unique(d$visit)))
    for (link in c("logit", "probit")) {
      for (nagq in c(1L, 10L)) {
        t0 <- proc.time()[["elapsed"]]
        m <- clmm(y ~ visit + (1 | patient_id), data = d, link = link, nAGQ = nagq,
                  control = clmm.control(method = "ucminf", gradTol = 1e-6, maxIter = 200,
                                        grtol = 1e-8))
        elapsed <- proc.time()[["elapsed"]] - t0
        m0 <- clmm(y ~ visit + (1 | patient_id), data = d, link = link, nAGQ = nagq)
        s <- tryCatch(coef(summary(m)), error = function(e) NULL)
        if (!is.null(s) && anyNA(s[, 2])) s <- NULL
        se_source <- "clmm"
        if (is.null(s)) {
          s <- coef(summary(clm(y ~ visit, data = d, link = link)))
          s[, 1] <- c(m$alpha, m$beta)
          se_source <- "clm"
        }
        key <- data.frame(dataset = name, side = side, link = link, nagq = nagq)
        coef_rows[[length(coef_rows) + 1]] <- cbind(
          key, term = rownames(s),
          kind = ifelse(rownames(s) %in% names(m$alpha), "threshold", "fixed"),
          estimate = s[, 1], se = s[, 2], z = s[, 3], p = s[, 4], se_source = se_source,
          row.names = NULL)
        fit_rows[[length(fit_rows) + 1]] <- cbind(
          key, logLik = as.numeric(logLik(m)), AIC = AIC(m), ST = unname(m$ST[[1]][1, 1]),
          variance = unname(VarCorr(m)[[1]][1, 1]), nobs = nobs(m),
          ngroups = length(unique(d$patient_id)), max_grad = max(abs(m$gradient)),
          seconds = elapsed, logLik_default = as.numeric(logLik(m0)),
          max_rel_diff_default = max(abs(coef(m0) / coef(m) - 1)))
      }
    }
  }
}
num <- function(df) { for (c in names(df)) if (is.numeric(df[[c]])) df[[c]] <- signif(df[[c]], 15); df }
write.csv(num(do.call(rbind, coef_rows)), file.path(out, "coef.csv"), row.names = FALSE, na = "")
write.csv(num(do.call(rbind, fit_rows)), file.path(out, "fit.csv"), row.names = FALSE, na = "")
writeLines(c(R.version.string, paste("ordinal", packageVersion("ordinal")),
             paste("ucminf", packageVersion("ucminf"))), file.path(out, "VERSIONS"))
