"""The reporting layer: the long score table, the transfer matrix and per-language tables, figures,
published numbers beside ours, and the analyses that answer the research questions."""
