import { registry } from "@web/core/registry";

/* A salesperson answers a WhatsApp customer from the lead form. */
registry.category("web_tour.tours").add("omnichannel_whatsapp_reply_tour", {
    // Steps may wait longer than the default 10 s on a loaded CI machine.
    timeout: 30000,
    steps: () => [
        {
            content: "The WhatsApp message is in the lead's chat panel, with the WhatsApp icon",
            trigger: ".o_omnichannel_message_in:has(.fa-whatsapp) .o_omnichannel_body:contains(Есть кресла в наличии)",
        },
        {
            content: "The reply goes to the WhatsApp number the customer last wrote to",
            trigger: ".o_omnichannel_target:has(option:selected:contains(WhatsApp sales))",
        },
        {
            content: "Within 24 hours of her message, free text is allowed",
            trigger: ".o_omnichannel_composer:not(:has(.o_omnichannel_reply_refusal)) .o_omnichannel_input:enabled",
            run: "edit Да, 40 штук на складе",
        },
        {
            content: "Send it",
            trigger: ".o_omnichannel_send:enabled",
            run: "click",
        },
        {
            content: "The reply is in the history, marked sent",
            trigger: ".o_omnichannel_message_out[data-status=sent] .o_omnichannel_body:contains(Да, 40 штук на складе)",
        },
        {
            content: "Deliberately answer from the other number she wrote to",
            trigger: ".o_omnichannel_target",
            run: "selectByLabel WhatsApp support",
        },
        {
            content: "The support number is now the reply target",
            trigger: ".o_omnichannel_target:has(option:selected:contains(WhatsApp support))",
        },
        {
            content: "Write from the support number",
            trigger: ".o_omnichannel_input:enabled",
            run: "edit Поддержка на связи",
        },
        {
            content: "Send it",
            trigger: ".o_omnichannel_send:enabled",
            run: "click",
        },
        {
            content: "Sent too",
            trigger: ".o_omnichannel_message_out[data-status=sent] .o_omnichannel_body:contains(Поддержка на связи)",
        },
    ],
});

/* Two days after the customer's last message: the composer explains the
 * WhatsApp rule and offers approved templates, filled for this customer. */
registry.category("web_tour.tours").add("omnichannel_whatsapp_template_tour", {
    // Steps may wait longer than the default 10 s on a loaded CI machine.
    timeout: 30000,
    steps: () => [
        {
            content: "The composer explains why free text cannot go",
            trigger: ".o_omnichannel_reply_refusal:contains(within 24 hours of the customer's last message)",
        },
        {
            content: "Free text is disabled",
            trigger: ".o_omnichannel_input:disabled",
        },
        {
            content: "The first template is previewed, filled with the customer's name",
            trigger: ".o_omnichannel_template_preview:contains(Здравствуйте, Boris Orlov! Удобно продолжить разговор?)",
        },
        {
            content: "Choose another template",
            trigger: ".o_omnichannel_template",
            run: "selectByLabel price_update",
        },
        {
            content: "Its preview is filled too",
            trigger: ".o_omnichannel_template_preview:contains(Boris Orlov, цены на кресла обновились)",
        },
        {
            content: "Send the template",
            trigger: ".o_omnichannel_send_template:enabled",
            run: "click",
        },
        {
            content: "The filled template is in the history, marked sent",
            trigger: ".o_omnichannel_message_out[data-status=sent] .o_omnichannel_body:contains(Boris Orlov, цены на кресла обновились)",
        },
    ],
});

/* An admin connects a WhatsApp number from the channel form. */
registry.category("web_tour.tours").add("omnichannel_whatsapp_setup_tour", {
    // Steps may wait longer than the default 10 s on a loaded CI machine.
    timeout: 30000,
    steps: () => [
        {
            content: "Name the account",
            trigger: ".o_field_widget[name=name] input",
            run: "edit WhatsApp from the UI",
        },
        {
            content: "Open the channel types",
            trigger: ".o_field_widget[name=channel_type] .o_select_menu_toggler",
            run: "click",
        },
        {
            content: "It is a WhatsApp number",
            trigger: ".o_select_menu_menu .o_select_menu_item:contains(WhatsApp)",
            run: "click",
        },
        {
            content: "Its phone number ID",
            trigger: ".o_field_widget[name=account_ref] input",
            run: "edit 106540352242922",
        },
        {
            content: "Its WhatsApp Business Account",
            trigger: ".o_field_widget[name=whatsapp_business_account_id] input",
            run: "edit 1029384756",
        },
        {
            content: "The access token (the Telegram 'bot token' field is hidden)",
            trigger: ".o_field_widget[name=token]:visible input",
            run: "edit EAAG-TOUR",
        },
        {
            content: "The app secret",
            trigger: ".o_field_widget[name=app_secret] input",
            run: "edit tour-secret",
        },
        {
            content: "A verify token",
            trigger: ".o_field_widget[name=verify_token] input",
            run: "edit my-verify-token",
        },
        {
            content: "The form explains how to connect the number",
            trigger: ".alert-info:visible:contains(phone number ID)",
        },
        {
            content: "Save",
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            content: "Saved: its webhook URL is shown, and the connection buttons",
            trigger: ".o_form_saved .o_field_widget[name=webhook_url]:contains(/omnichannel/webhook/)",
        },
        {
            content: "Check connection is offered",
            trigger: "button[name=action_check_webhook]:contains(Check connection)",
        },
    ],
});

/* The admin checks the connection and reads the templates from Meta. */
registry.category("web_tour.tours").add("omnichannel_whatsapp_check_tour", {
    // Steps may wait longer than the default 10 s on a loaded CI machine.
    timeout: 30000,
    steps: () => [
        {
            content: "Check the connection",
            trigger: "button[name=action_check_webhook]",
            run: "click",
        },
        {
            content: "Meta's answer is shown",
            trigger: ".o_notification:contains(Office Chairs LLC)",
        },
        {
            content: "Read the message templates",
            trigger: "button[name=action_sync_whatsapp_templates]",
            run: "click",
        },
        {
            content: "Done",
            trigger: ".o_notification:contains(1 message templates read from WhatsApp)",
        },
        {
            content: "Open them",
            trigger: "button[name=action_view_whatsapp_templates]:contains(1)",
            run: "click",
        },
        {
            content: "The approved template is listed",
            trigger: ".o_data_row:contains(order_follow_up):contains(Approved)",
        },
    ],
});
