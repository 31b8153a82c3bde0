"""The study's design: what a profile means, the paper's numbers, the scoring protocols, the joints."""
