# Reference fixtures for tests/test_lmm_dose_scale.py: random-slope REML fits with the slope
# variable in large units (dose in ug/day), at a tight optimum.
# Run from the repository root, after writing the data with the project's simulator:
#   python tests/test_lmm_dose_scale.py        # -> tests/fixtures/lmm/data_dose_scale.csv
#   Rscript tests/r/lmm_dose_scale_fixtures.R
# Needs lme4, lmerTest, pbkrtest. Writes tests/fixtures/lmm/dose_scale_fit.csv (REML deviance,
# theta, sigma, variance components, isSingular, the deviance of lme4's default fit and of the
# other start), dose_scale_fixed.csv (fixed effects, Satterthwaite and Kenward-Roger, from
# lmerTest's summary) and dose_scale_lme4_default.csv (lme4's default fit's messages).
# lme4's default fit (nloptwrap) stops early on these models ("failed to converge", "Rescale
# variables?"): the reference is bobyqa with rhoend = 1e-12 started from it, and from a fit on
# dose / 64 (theta of the slope's row divided by 64: the same model), the lower REML criterion
# kept.
suppressPackageStartupMessages({library(lme4); library(lmerTest); library(pbkrtest)})
out <- file.path("tests", "fixtures", "lmm")
data <- read.csv(file.path(out, "data_dose_scale.csv"), stringsAsFactors = FALSE,
                 na.strings = character(0), colClasses = c(patient_id = "character"))
models <- list(mrc_knee_ext_R = c("mrc_knee_ext", "R"), six_mwt = c("six_mwt", ""),
               tug = c("tug", ""))
tight <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-12, maxfun = 1e5),
                     check.conv.grad = "ignore", check.conv.hess = "ignore",
                     check.conv.singular = "ignore")
form <- value ~ dose_ug_day + (1 + dose_ug_day | patient_id)
fit_rows <- list(); fixed <- list(); default <- list()
for (name in names(models)) {
  d <- data[data$measure == models[[name]][1] & data$side == models[[name]][2], ]
  d$dose_s <- d$dose_ug_day / 64
  m0 <- suppressMessages(suppressWarnings(lmerTest::lmer(form, data = d, REML = TRUE)))
  msgs <- paste(m0@optinfo$conv$lme4$messages, collapse = " | ")
  quiet <- function(x) suppressMessages(suppressWarnings(x))
  m1 <- quiet(lmerTest::lmer(form, data = d, REML = TRUE, control = tight,
                             start = getME(m0, "theta")))
  ms <- quiet(lmerTest::lmer(value ~ dose_s + (1 + dose_s | patient_id), data = d, REML = TRUE,
                             control = tight))
  th <- getME(ms, "theta"); th[2:3] <- th[2:3] / 64
  m2 <- quiet(lmerTest::lmer(form, data = d, REML = TRUE, control = tight, start = th))
  m <- if (REMLcrit(m2) < REMLcrit(m1)) m2 else m1
  vc <- as.data.frame(VarCorr(m))
  fit_rows[[name]] <- data.frame(
    dataset = name,
    key = c("deviance", paste0("theta", seq_along(getME(m, "theta"))), "sigma",
            paste0("vc:", vc$grp, ":", vc$var1, ":", vc$var2), "singular", "nobs", "ngroups",
            "deviance_lme4_default", "deviance_other_start"),
    value = c(REMLcrit(m), getME(m, "theta"), sigma(m), vc$vcov, as.numeric(isSingular(m)),
              nobs(m), ngrps(m)[[1]], REMLcrit(m0), max(REMLcrit(m1), REMLcrit(m2))))
  default[[name]] <- data.frame(dataset = name, deviance = REMLcrit(m0), messages = msgs)
  for (ddf in c("Satterthwaite", "Kenward-Roger")) {
    ct <- coef(summary(m, ddf = ddf))
    fixed[[paste(name, ddf)]] <- data.frame(
      dataset = name, ddf = ddf, term = rownames(ct), estimate = ct[, 1], se = ct[, 2],
      df = ct[, 3], t = ct[, 4], p = ct[, 5])
  }
}
options(digits = 15)
write.csv(do.call(rbind, fit_rows), file.path(out, "dose_scale_fit.csv"), row.names = FALSE)
write.csv(do.call(rbind, fixed), file.path(out, "dose_scale_fixed.csv"), row.names = FALSE)
write.csv(do.call(rbind, default), file.path(out, "dose_scale_lme4_default.csv"),
          row.names = FALSE)
cat("fixtures written to", out, "\n")
