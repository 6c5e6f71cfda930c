from django import forms
from django.utils.translation import gettext_lazy as _

from portal.review.models import FIGURES, Reply


class ReplyForm(forms.Form):
    figure = forms.ChoiceField(label=_("Figure"), choices=FIGURES)
    reply = forms.ChoiceField(label=_("Reply"), choices=Reply.REPLIES, widget=forms.RadioSelect)
    comment = forms.CharField(label=_("Reason"), required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 3}))

    def clean(self):
        data = super().clean()
        if data.get("reply") == Reply.DISPUTE and not (data.get("comment") or "").strip():
            self.add_error("comment", _("Please say why you dispute this figure."))
        return data
