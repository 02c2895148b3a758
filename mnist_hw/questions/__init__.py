"""The four questions' own code: each question's module (q1, q2, q3/, q4) holds its notebook's parameter rules, its
written answers (Markdown built from the result tables, so the prose follows the numbers) and its grader; beside
them the shared table, text, plot and grading helpers. The registry (mnist_hw.registry) lists the questions."""
