"""My progress: the partner's own page from the latest publication, and its submission history."""
