from . import webhook
from . import sandbox
from . import website
