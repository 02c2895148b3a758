"""Run infrastructure: a run's folder and manifest (`folder`), its row store (`store`) with durable writes (`files`),
the notebooks' parameter check (`guard`), the one sweep runner (`sweep`) and its progress bars (`progress`)."""
