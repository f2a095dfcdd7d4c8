"""Reviews to predict, as read from a file or standard input (`inference.read_input`) or a data source's unlabelled
test split, in order: what a predictions file is written from (`training_report.predictions_tsv`)."""

from dataclasses import dataclass, field


@dataclass
class Reviews:
    where: str  # the file, or <stdin>
    texts: list[str]
    labels: list[str] | None  # gold label names, when the input has a label column
    indices: list[str] | None  # GLUE's index column, when the input has one
    data: bytes = field(default=b"", repr=False)  # the input as read

    @property
    def glue_test(self) -> bool:
        """GLUE's unlabelled test layout, whose predictions go out as GLUE's submission file (index<TAB>prediction)."""
        return self.indices is not None and self.labels is None
