from . import omnichannel_report_mixin
from . import omnichannel_report_response
from . import omnichannel_report_conversation
from . import omnichannel_report_lead
from . import omnichannel_dashboard
from . import omnichannel_report_demo
from . import omnichannel_dashboard_trends
from . import omnichannel_report_csat
