"""The cramp phenotype: seed loading, phenotype version and the ordered SQL models behind `cohort.*`."""
