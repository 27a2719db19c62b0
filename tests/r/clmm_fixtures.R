# Reference fixtures for analysis.stats.ordinal (tests/test_clmm.py).
# Run from the repository root:  Rscript tests/r/clmm_fixtures.R [OUTDIR]
# Needs ordinal (and ucminf). Writes tests/fixtures/clmm/ (or OUTDIR):
#   data_<name>.csv  the simulated data (tidy long format; `value` holds the codebook code)
#   coef.csv         thresholds and fixed effects: estimate, se, z, p (summary(clmm))
#   fit.csv          logLik, AIC, ST (SD of the patient intercept), variance, nobs, ngroups,
#                    max_grad (R's gradient at its optimum), inner_warnings, optimizer_message,
#                    and the same model fitted with clmm's *default* control: logLik_default,
#                    max_rel_diff_default (largest relative change of a coefficient), ST_default;
#                    coef.csv: estimate_default
#   VERSIONS         R, ordinal and ucminf versions and the control of the reference fits
# Every model: value ~ visit + (1 | patient_id), links logit and probit, Laplace (nAGQ = 1) and
# adaptive Gauss-Hermite quadrature (nAGQ = 10). The reference fits are at a tight optimum
# (control `tight` below: ucminf, grtol 1e-8, inner gradTol 1e-6) with each patient's mode
# finished (see update_uC_at_mode). With the default control clmm stops at a Laplace likelihood
# that is not its maximum (its reported logLik, computed with the curvature of an unfinished
# Newton step, is off by up to 2e-3 either way) and coefficients up to 2e-3 (relative) away;
# the fixtures record that fit, and tests/test_clmm.py checks that the exact likelihood at R's
# default estimates is below ours.
suppressPackageStartupMessages(library(ordinal))
args <- commandArgs(TRUE)
out <- if (length(args)) args[1] else file.path("tests", "fixtures", "clmm")
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

# The control of every reference fit (recorded in VERSIONS): gradTol is the tolerance of the
# inner Newton on each patient's mode; the outer optimiser's own arguments follow method.
tight <- eval(parse(text = Sys.getenv("CLMM_TIGHT", paste(
  'list(method = "ucminf", gradTol = 1e-6, maxIter = 200, grtol = 1e-8, xtol = 1e-12,',
  'maxeval = 5000)'))))
tight_text <- paste(deparse(tight, width.cutoff = 500L), collapse = " ")
# clmm's inner Newton (C routine NRalgv3, called by ordinal:::update.uC) returns the curvature D
# of each patient's mode computed at the iterate *before* its last step, and rejects a last step
# whose decrease of the likelihood is below rounding, so the Laplace likelihood depends on where
# the Newton happened to stop: an error of up to 1e-4 in logLik with the default gradTol, and
# jumps of ~1e-9 between neighbouring parameter values whatever the gradTol, which the
# finite-difference Hessian (deriv12, step 1e-4) turns into SE errors of up to 20%. The
# reference fits therefore run clmm with one change: after clmm's inner Newton, two more Newton
# steps u - gradient / D are taken (without line search: the gradient is then ~1e-8) and clmm's
# routine is re-entered there for one iteration (gradTol 0, maxIter 1), so that u is the mode to
# rounding and D the curvature at it. The likelihood is then smooth; everything else
# (likelihood, quadrature, optimiser, Hessian, summary) is clmm's own code.
update_uC <- ordinal:::update.uC
update_uC_at_mode <- function(rho) {
  if (!update_uC(rho)) return(FALSE)
  start <- rho$uStart
  ctrl <- rho$ctrl
  on.exit({ rho$uStart <- start; rho$ctrl <- ctrl })
  rho$ctrl$gradTol <- 0
  rho$ctrl$maxIter <- 1L
  rho$ctrl$innerCtrl <- "noWarn"
  for (i in 1:2) {
    rho$uStart <- rho$u - rho$gradient / rho$D
    if (!update_uC(rho)) return(FALSE)
  }
  TRUE
}
clmm_at_mode <- function(...) {
  assignInNamespace("update.uC", update_uC_at_mode, "ordinal")
  on.exit(assignInNamespace("update.uC", update_uC, "ordinal"))
  clmm(...)
}
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
        inner_warnings <- 0
        m <- withCallingHandlers(
          clmm_at_mode(y ~ visit + (1 | patient_id), data = d, link = link, nAGQ = nagq,
                       control = do.call(clmm.control, tight)),
          warning = function(w) {
            inner_warnings <<- inner_warnings + 1
            invokeRestart("muffleWarning")
          })
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
          estimate_default = coef(m0)[rownames(s)],
          row.names = NULL)
        fit_rows[[length(fit_rows) + 1]] <- cbind(
          key, logLik = as.numeric(logLik(m)), AIC = AIC(m), ST = unname(m$ST[[1]][1, 1]),
          variance = unname(VarCorr(m)[[1]][1, 1]), nobs = nobs(m),
          ngroups = length(unique(d$patient_id)), max_grad = max(abs(m$gradient)),
          ST_default = unname(m0$ST[[1]][1, 1]), seconds = elapsed, inner_warnings = inner_warnings,
          optimizer_message = m$optRes$message, logLik_default = as.numeric(logLik(m0)),
          max_rel_diff_default = max(abs(coef(m0) / coef(m) - 1)))
      }
    }
  }
}
num <- function(df) { for (c in names(df)) if (is.numeric(df[[c]])) df[[c]] <- signif(df[[c]], 15); df }
write.csv(num(do.call(rbind, coef_rows)), file.path(out, "coef.csv"), row.names = FALSE, na = "")
write.csv(num(do.call(rbind, fit_rows)), file.path(out, "fit.csv"), row.names = FALSE, na = "")
writeLines(c(R.version.string, paste("ordinal", packageVersion("ordinal")),
             paste("ucminf", packageVersion("ucminf")), paste("control:", tight_text)),
           file.path(out, "VERSIONS"))
