# Small pure-Python services used by the models; they import no Odoo.
