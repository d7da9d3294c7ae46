"""The phenotype for readers: the clinician's definition page (`definition.html`) and the value-set export."""
