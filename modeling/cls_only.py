"""The classifier of a BERT, DistilBERT or MPNet reads the last layer's output at [CLS] (MPNet's <s>) only; computing that layer at every
position throws away about 13% of a 6-layer model's FLOPs. Here the last layer attends from [CLS] alone, over every
position: the same logits and gradients (to float rounding), the same weights and saved files.

In training, the dropout masks of the positions no longer computed are not drawn, so the random stream (not its
distribution) differs from the full model's. transformers has no switch for this, hence the layer subclasses below.
"""

from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS
from transformers.models.bert.modeling_bert import BertForSequenceClassification, BertLayer
from transformers.models.bert.modeling_bert import eager_attention_forward as bert_eager_attention
from transformers.models.distilbert.modeling_distilbert import DistilBertForSequenceClassification, TransformerBlock
from transformers.models.distilbert.modeling_distilbert import eager_attention_forward as distilbert_eager_attention
from transformers.models.mpnet.modeling_mpnet import MPNetForSequenceClassification, MPNetLayer


def attend_from_cls(attention, project_q, project_k, project_v, hidden_states, attention_mask, attend, scaling, **kwargs):
    """`attention`'s multi-head attention with [CLS] as the only query, every position as keys and values, computed
    by `attend` (an attention function of transformers' interface)."""
    batch, head_size = hidden_states.shape[0], attention.attention_head_size

    def heads(project, states):
        return project(states).view(batch, states.shape[1], -1, head_size).transpose(1, 2)

    if attention_mask is not None and attention_mask.dim() == 4 and attention_mask.shape[-2] > 1:
        attention_mask = attention_mask[:, :, :1]  # a (batch, 1, query, key) mask: the [CLS] query's row
    output, _ = attend(
        attention,
        heads(project_q, hidden_states[:, :1]),
        heads(project_k, hidden_states),
        heads(project_v, hidden_states),
        attention_mask,
        dropout=attention.dropout.p if attention.training else 0.0,
        scaling=scaling,
        **kwargs,
    )
    return output.reshape(batch, 1, -1)


def configured_attention(attention, eager):
    """The attention function `attention`'s config names (sdpa, eager, ...), `eager` for eager."""
    return ALL_ATTENTION_FUNCTIONS.get_interface(attention.config._attn_implementation, eager)


class BertLayerClsOnly(BertLayer):
    """BertLayer.forward (an encoder's: no cache, no cross-attention) computed at [CLS] only."""

    def forward(self, hidden_states, attention_mask=None, encoder_hidden_states=None, encoder_attention_mask=None,
                cache=None, **kwargs):
        attention = self.attention.self
        context = attend_from_cls(attention, attention.query, attention.key, attention.value, hidden_states,
                                  attention_mask, configured_attention(attention, bert_eager_attention), attention.scaling,
                                  **kwargs)  # fmt: skip
        return self.feed_forward_chunk(self.attention.output(context, hidden_states[:, :1]))


class DistilBertBlockClsOnly(TransformerBlock):
    """DistilBERT's TransformerBlock.forward computed at [CLS] only."""

    def forward(self, hidden_states, attention_mask=None, **kwargs):
        attention = self.attention
        context = attend_from_cls(attention, attention.q_lin, attention.k_lin, attention.v_lin, hidden_states,
                                  attention_mask, configured_attention(attention, distilbert_eager_attention),
                                  attention.scaling, **kwargs)  # fmt: skip
        attention_output = self.sa_layer_norm(attention.out_lin(context) + hidden_states[:, :1])
        return self.output_layer_norm(self.ffn(attention_output) + attention_output)


class MPNetLayerClsOnly(MPNetLayer):
    """MPNetLayer.forward computed at <s> only. MPNet's attention is always eager, with the encoder's relative position
    bias added to the scores before the padding mask: both cut to the <s> query's row, summed (adding 0 or the dtype's
    minimum rounds alike in either order)."""

    def forward(self, hidden_states, attention_mask=None, position_bias=None, output_attentions=False, **kwargs):
        attention = self.attention.attn
        bias = None if position_bias is None else position_bias[:, :, :1]
        if attention_mask is not None:
            bias = attention_mask[:, :, :1] if bias is None else bias + attention_mask[:, :, :1]
        context = attend_from_cls(attention, attention.q, attention.k, attention.v, hidden_states, bias,
                                  bert_eager_attention, attention.attention_head_size**-0.5)  # fmt: skip
        attention_output = self.attention.LayerNorm(self.attention.dropout(attention.o(context)) + hidden_states[:, :1])
        layer_output = self.output(self.intermediate(attention_output), attention_output)
        return (layer_output, None) if output_attentions else (layer_output,)


# The classifiers that read the last layer at [CLS] alone: where their layers are, and what the last one becomes.
CLS_ONLY = {
    BertForSequenceClassification: ("bert.encoder", BertLayerClsOnly),
    DistilBertForSequenceClassification: ("distilbert.transformer", DistilBertBlockClsOnly),
    MPNetForSequenceClassification: ("mpnet.encoder", MPNetLayerClsOnly),
}
CLS_ONLY_MODELS = tuple(model_class.__name__ for model_class in CLS_ONLY)
CLS_ONLY_ATTENTION = ("sdpa", "eager")  # the attention functions whose masks it cuts to the [CLS] row (tested)


def cls_only_refusal(model) -> str | None:
    """Why `model`'s last layer cannot compute [CLS] alone, or None when it can: another model (its own code from
    the Hub included), a decoder (causal or cross-attending), or another attention function."""
    attention = model.config._attn_implementation
    if type(model) not in CLS_ONLY or attention not in CLS_ONLY_ATTENTION:
        return (f"built for the encoders of transformers' {' and '.join(CLS_ONLY_MODELS)} with "
                f"{' or '.join(CLS_ONLY_ATTENTION)} attention, this model is {type(model).__name__} with {attention} attention")  # fmt: skip
    if getattr(model.config, "is_decoder", False):  # DistilBERT configs have no such setting: always an encoder
        return "built for encoders, this model is a decoder: its [CLS] attends to itself alone"
    return None


def last_layer_cls_only(model) -> bool:
    """Make `model`'s last layer compute [CLS] alone, in place: same parameters, same state dict, same saved files;
    False, with nothing changed, when `cls_only_refusal` names a reason. The last layer's attentions and hidden
    states, which the classifier does not read, are then not returned for every position."""
    if cls_only_refusal(model):
        return False
    stack, cls_only_class = CLS_ONLY[type(model)]
    model.get_submodule(stack).layer[-1].__class__ = cls_only_class
    return True
