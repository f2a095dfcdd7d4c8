"""A classifier's label names, in id order, from its config (config.json's id2label: what the run trained)."""


def label_names(config) -> list[str]:
    return [config.id2label[i] for i in range(config.num_labels)]
