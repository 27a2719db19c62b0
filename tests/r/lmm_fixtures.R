# Reference fixtures for analysis.stats.lmm (tests/test_lmm.py) and analysis.stats.multiplicity.
# Run from the repository root:  Rscript tests/r/lmm_fixtures.R
# Needs lme4, lmerTest, pbkrtest, emmeans. Writes tests/fixtures/lmm/*.csv:
#   data_<name>.csv   the data each model is fitted to (simulated here with set.seed, or copied)
#   fixed.csv         fixed effects under Satterthwaite and Kenward-Roger (lmerTest summary)
#   emmeans.csv       emmeans(m, ~visit) under both df methods
#   contrasts.csv     contrast(emm, "trt.vs.ctrl", ref = 1): unadjusted and Holm p, unadjusted CI
#   fit.csv           REML deviance, theta, sigma, variance components, isSingular
#   holm.csv          p.adjust(p, "holm") with NAs
suppressPackageStartupMessages({
  library(lme4); library(lmerTest); library(pbkrtest); library(emmeans)
})
emm_options(lmerTest.limit = Inf, pbkrtest.limit = Inf)
out <- file.path("tests", "fixtures", "lmm")
dir.create(out, showWarnings = FALSE, recursive = TRUE)
ctrl <- lmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5))

# ---- data -----------------------------------------------------------------------------------
datasets <- list()

# (a) synthetic HSP series shipped with the project
hsp_path <- file.path("..", "shared", "reference", "hsp_synth.csv")
if (!file.exists(hsp_path)) stop("run from the repository root (needs ", hsp_path, ")")
hsp <- read.csv(hsp_path, stringsAsFactors = FALSE)
hsp$visit <- factor(hsp$visit, levels = unique(hsp$visit))
datasets$hsp <- list(data = hsp, formula = score ~ visit + (1 | patient), emm = TRUE)

# (b) lme4's sleepstudy (GPL data, used only as a test fixture)
ss <- lme4::sleepstudy
ss$Subject <- as.character(ss$Subject)
datasets$sleepstudy <- list(data = ss, formula = Reaction ~ Days + (Days | Subject), emm = FALSE)

visits <- c("baseline", "ti_d1", "ti_d3", "post_m1", "post_m3", "post_m6")
vday <- c(-7, 1, 3, 30, 90, 180)
vfx <- c(0, -1.5, -2.5, -3.0, -3.5, -3.2)

# (c1) random intercept with a numeric and a categorical covariate, some missing
set.seed(20261)
np <- 30
pat <- data.frame(patient_id = sprintf("P%02d", 1:np), age = round(rnorm(np, 45, 12), 1),
                  sex = sample(c("F", "M"), np, replace = TRUE), b0 = rnorm(np, 0, 2))
d <- merge(pat, data.frame(visit = visits, day = vday, fx = vfx), by = NULL)
d$value <- 20 + d$fx + 0.08 * (d$age - 45) + ifelse(d$sex == "M", 1.2, 0) + d$b0 + rnorm(nrow(d), 0, 1.5)
d <- d[order(d$patient_id, d$day), ]
d <- d[-sample(which(d$visit != "baseline"), 15), c("patient_id", "visit", "day", "age", "sex", "value")]
d$value <- round(d$value, 3)
datasets$sim_cov <- list(data = d, formula = value ~ visit + age + sex + (1 | patient_id), emm = TRUE)

# (c2) random slope over day, unbalanced (patient-specific days and dropout)
set.seed(20262)
np <- 24
rows <- list()
for (i in 1:np) {
  b <- MASS::mvrnorm(1, c(0, 0), matrix(c(4, -0.005, -0.005, 0.0002), 2))
  nv <- sample(3:6, 1)
  dd <- vday[1:nv] + c(0, round(runif(nv - 1, -1, 1) * c(0, 0, 5, 10, 15)[seq_len(nv - 1)]))
  y <- 30 + vfx[1:nv] * 2 + b[1] + b[2] * dd + rnorm(nv, 0, 1.2)
  rows[[i]] <- data.frame(patient_id = sprintf("S%02d", i), visit = visits[1:nv], day = dd,
                          value = round(y, 3))
}
d <- do.call(rbind, rows)
datasets$sim_slope <- list(data = d, formula = value ~ visit + (1 + day | patient_id), emm = TRUE)

# (d) singular fit: no between-patient variance; the first seed from 20263 whose fit is singular
make_singular <- function(seed) {
  set.seed(seed)
  np <- 12
  d <- merge(data.frame(patient_id = sprintf("Q%02d", 1:np)),
             data.frame(visit = visits[1:4], day = vday[1:4], fx = vfx[1:4]), by = NULL)
  d$value <- round(10 + d$fx + rnorm(nrow(d), 0, 1), 3)
  d[order(d$patient_id, d$day), c("patient_id", "visit", "day", "value")]
}
seed <- 20263
repeat {
  d <- make_singular(seed)
  d$visit <- factor(d$visit, levels = visits[1:4])
  if (isSingular(lmer(value ~ visit + (1 | patient_id), data = d, control = ctrl))) break
  seed <- seed + 1
}
d$visit <- as.character(d$visit)
datasets$singular <- list(data = d, formula = value ~ visit + (1 | patient_id), emm = TRUE)

# (d2) singular random slope: identical slopes, the first seed from 20265 with a boundary fit
make_flat_slope <- function(seed) {
  set.seed(seed)
  np <- 10
  d <- merge(data.frame(patient_id = sprintf("R%02d", 1:np), b0 = rnorm(np)),
             data.frame(visit = visits[1:5], day = c(0, 1, 2, 3, 4)), by = NULL)
  d$value <- round(5 + d$b0 + 0.5 * d$day + rnorm(nrow(d), 0, 0.3), 3)
  d[order(d$patient_id, d$day), c("patient_id", "visit", "day", "value")]
}
seed <- 20265
repeat {
  d <- make_flat_slope(seed)
  d$visit <- factor(d$visit, levels = visits[1:5])
  if (isSingular(lmer(value ~ visit + (1 + day | patient_id), data = d, control = ctrl))) break
  seed <- seed + 1
}
d$visit <- as.character(d$visit)
datasets$singular_slope <- list(data = d, formula = value ~ visit + (1 + day | patient_id),
                                emm = TRUE)

# (e) dose titration: value ~ dose + (1 + dose | patient)
set.seed(20264)
np <- 10
rows <- list()
for (i in 1:np) {
  doses <- c(0, 25, 50, 75, 100)[1:sample(3:5, 1)]
  b <- c(rnorm(1, 0, 1.5), rnorm(1, 0, 0.01))
  y <- 3 + b[1] + (-0.02 + b[2]) * doses + rnorm(length(doses), 0, 0.4)
  rows[[i]] <- data.frame(patient_id = sprintf("D%02d", i), dose = doses, value = round(y, 3))
}
d <- do.call(rbind, rows)
datasets$dose <- list(data = d, formula = value ~ dose + (1 + dose | patient_id), emm = FALSE)

# ---- fits -----------------------------------------------------------------------------------
fixed <- list(); emm_rows <- list(); con_rows <- list(); fit_rows <- list()
for (name in names(datasets)) {
  ds <- datasets[[name]]
  write.csv(ds$data, file.path(out, paste0("data_", name, ".csv")), row.names = FALSE)
  dat <- ds$data
  if ("visit" %in% names(dat)) dat$visit <- factor(dat$visit, levels = unique(as.character(dat$visit)))
  m <- lmerTest::lmer(ds$formula, data = dat, REML = TRUE, control = ctrl)
  vc <- as.data.frame(VarCorr(m))
  fit_rows[[name]] <- data.frame(
    dataset = name,
    key = c("deviance", paste0("theta", seq_along(getME(m, "theta"))), "sigma",
            paste0("vc:", vc$grp, ":", vc$var1, ":", vc$var2), "singular", "nobs", "ngroups"),
    value = c(REMLcrit(m), getME(m, "theta"), sigma(m), vc$vcov, as.numeric(isSingular(m)),
              nobs(m), ngrps(m)[[1]]))
  for (ddf in c("Satterthwaite", "Kenward-Roger")) {
    ct <- coef(summary(m, ddf = ddf))
    fixed[[paste(name, ddf)]] <- data.frame(
      dataset = name, ddf = ddf, term = rownames(ct), estimate = ct[, 1], se = ct[, 2],
      df = ct[, 3], t = ct[, 4], p = ct[, 5])
    if (ds$emm) {
      emm <- emmeans(m, ~visit, lmer.df = tolower(ddf))
      e <- as.data.frame(emm)
      emm_rows[[paste(name, ddf)]] <- data.frame(
        dataset = name, ddf = ddf, visit = as.character(e$visit), emmean = e$emmean, se = e$SE,
        df = e$df, lower = e$lower.CL, upper = e$upper.CL)
      cu <- contrast(emm, "trt.vs.ctrl", ref = 1, adjust = "none")
      ch <- as.data.frame(contrast(emm, "trt.vs.ctrl", ref = 1, adjust = "holm"))
      ciu <- as.data.frame(confint(cu))
      cub <- as.data.frame(cu)
      con_rows[[paste(name, ddf)]] <- data.frame(
        dataset = name, ddf = ddf, contrast = as.character(cub$contrast), estimate = cub$estimate,
        se = cub$SE, df = cub$df, t = cub$t.ratio, p = cub$p.value, p_holm = ch$p.value,
        lower = ciu$lower.CL, upper = ciu$upper.CL)
    }
  }
}
wr <- function(x, f) write.csv(do.call(rbind, x), file.path(out, f), row.names = FALSE)
options(digits = 15)
wr(fixed, "fixed.csv"); wr(emm_rows, "emmeans.csv"); wr(con_rows, "contrasts.csv")
wr(fit_rows, "fit.csv")

# ---- Holm -----------------------------------------------------------------------------------
p <- c(0.01, 0.04, NA, 0.03, 0.005, 0.2, 0.04, NA, 0.9)
write.csv(data.frame(p = p, holm = p.adjust(p, "holm")), file.path(out, "holm.csv"),
          row.names = FALSE)
cat("fixtures written to", out, "\n")
