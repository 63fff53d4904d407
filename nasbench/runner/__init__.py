"""The comparison runner: configuration, results store, execution, statistics, plots and reports."""
