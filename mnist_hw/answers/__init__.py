"""Each notebook's written answers: Markdown built from its result tables, so the prose follows the numbers."""
