from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from portal.submissions.checks import allowed_suffixes, safe_suffix
from portal.submissions.models import FAMILIES


class UploadForm(forms.Form):
    family = forms.ChoiceField(label=_("Report"), choices=FAMILIES)
    file = forms.FileField(label=_("File"))

    def clean(self):
        data = super().clean()
        f, family = data.get("file"), data.get("family")
        if not f or not family:
            return data
        limit = settings.PORTAL_MAX_UPLOAD_BYTES
        if f.size > limit:
            self.add_error("file", _("The file is larger than %(limit)s.") % {"limit": filesizeformat(limit)})
        elif f.size == 0:
            self.add_error("file", _("The file is empty."))
        elif safe_suffix(f.name, family) is None:
            self.add_error("file", _("This report is accepted as %(types)s only.")
                           % {"types": ", ".join(sorted(allowed_suffixes(family)))})
        return data
