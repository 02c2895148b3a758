"""The engine: MNIST in memory, the one-hidden-layer MLPs, and the lockstep stack that trains many of them at once.
It trains and writes nothing, and imports nothing of the package outside this folder.

Read it as one reads micrograd's engine: `train.fit` (the training step over minibatch streams), then `stack.MLPStack`
(forward and hand-derived backward as batched matrix products). Around them: `data` (MNIST tensors, splits,
minibatches), `activations` and `losses` (each forward beside its derivative), `optim` (SGD, Adam), `models` (the
torch modules a stack is built from, and PCA), `lockstep` (configurations grouped into stacks), `device`, `rules`
(each engine parameter's one rule) and `classic` (the textbook torch loop the engine is tested against).
"""
