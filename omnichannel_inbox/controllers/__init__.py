from . import webhook
from . import sandbox
from . import website
from . import privacy
from . import callback
from . import mail_webclient
