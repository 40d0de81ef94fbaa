"""Demo data: believable conversations for the dashboard, and a large data set for benches."""
