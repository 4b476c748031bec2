"""The Commission's yearly workplan: items per cluster that deliverables are posted against."""
