# Writes Bioconductor's ALL data set (Chiaretti et al., Blood 2004: 128
# acute lymphoblastic leukaemia samples on Affymetrix HG-U95Av2, RMA
# expression of 12,625 probe sets), shipped by Debian's r-bioc-all, as
# headsweep reads it: the expression matrix a column per sample (as array
# pipelines write it) and a sample sheet.
#
#   Rscript experiments/data/all_export.R OUT_DIR
#
# Labels: lineage (B or T, the first letter of BT), sex (M/F), and the
# molecular subtype of mol.biol, its four classes with at least 5 samples
# (BCR/ABL, NEG, ALL1/AF4, E2A/PBX1; NUP-98 and p15/p16, one sample each,
# are left unlabelled).
suppressPackageStartupMessages({
  library(Biobase)
  library(ALL)
})
out <- commandArgs(trailingOnly = TRUE)[1]
dir.create(out, showWarnings = FALSE, recursive = TRUE)
data(ALL)
x <- exprs(ALL)
p <- pData(ALL)
ids <- colnames(x)
con <- gzfile(file.path(out, "expression.tsv.gz"), "w")
writeLines(paste(c("probe", ids), collapse = "\t"), con)
write.table(format(x, digits = 7, trim = TRUE), con, sep = "\t", quote = FALSE,
            col.names = FALSE, row.names = TRUE)
close(con)
subtype <- as.character(p$mol.biol)
subtype[!(subtype %in% c("BCR/ABL", "NEG", "ALL1/AF4", "E2A/PBX1"))] <- NA
sheet <- data.frame(
  id = ids,
  lineage = substr(as.character(p$BT), 1, 1),
  sex = as.character(p$sex),
  subtype = subtype,
  age = p$age,
  stringsAsFactors = FALSE
)
write.table(sheet, file.path(out, "samples.tsv"), sep = "\t", quote = FALSE,
            row.names = FALSE, na = "NA")
cat(sprintf("ALL %s: %d samples x %d probe sets\n",
            packageVersion("ALL"), ncol(x), nrow(x)))
