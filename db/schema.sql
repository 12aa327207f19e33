-- The schema at revision 004, written by `make schema` (pg_dump --schema-only of a
-- database migrated to head, normalized). Do not edit: make check fails when it is stale.

CREATE TABLE public.ai_chats (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    user_id integer NOT NULL,
    title character varying(200) DEFAULT '新對話'::character varying NOT NULL,
    model character varying(100) DEFAULT 'claude-sonnet'::character varying NOT NULL,
    messages jsonb DEFAULT '[]'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);

COMMENT ON TABLE public.ai_chats IS 'Conversations between a user and an AI model.';

COMMENT ON COLUMN public.ai_chats.id IS 'Random UUID.';

COMMENT ON COLUMN public.ai_chats.user_id IS 'Owner of the chat.';

COMMENT ON COLUMN public.ai_chats.title IS 'Chat title.';

COMMENT ON COLUMN public.ai_chats.model IS 'AI model answering in this chat.';

COMMENT ON COLUMN public.ai_chats.messages IS 'Messages in order, each a JSON object.';

COMMENT ON COLUMN public.ai_chats.created_at IS 'When the chat was created.';

COMMENT ON COLUMN public.ai_chats.updated_at IS 'When the chat last changed.';

CREATE TABLE public.users (
    id integer NOT NULL,
    username character varying(100) NOT NULL,
    display_name character varying(100),
    preferences jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    last_login_at timestamp with time zone,
    email character varying(255)
);

COMMENT ON TABLE public.users IS 'People who own chats.';

COMMENT ON COLUMN public.users.id IS 'Surrogate key.';

COMMENT ON COLUMN public.users.username IS 'Login name, unique across users.';

COMMENT ON COLUMN public.users.display_name IS 'Name shown in the UI.';

COMMENT ON COLUMN public.users.preferences IS 'Free-form UI preferences.';

COMMENT ON COLUMN public.users.created_at IS 'When the user was created.';

COMMENT ON COLUMN public.users.last_login_at IS 'When the user last logged in.';

COMMENT ON COLUMN public.users.email IS 'Contact address, unique ignoring case when set.';

CREATE SEQUENCE public.users_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.users_id_seq OWNED BY public.users.id;

ALTER TABLE ONLY public.users ALTER COLUMN id SET DEFAULT nextval('public.users_id_seq'::regclass);

ALTER TABLE ONLY public.ai_chats
    ADD CONSTRAINT pk_ai_chats PRIMARY KEY (id);

ALTER TABLE ONLY public.users
    ADD CONSTRAINT pk_users PRIMARY KEY (id);

ALTER TABLE ONLY public.users
    ADD CONSTRAINT uq_users_username UNIQUE (username);

CREATE INDEX ix_ai_chats_updated_at ON public.ai_chats USING btree (updated_at DESC);

CREATE INDEX ix_ai_chats_user_id ON public.ai_chats USING btree (user_id);

CREATE UNIQUE INDEX uq_users_email ON public.users USING btree (lower((email)::text));

ALTER TABLE ONLY public.ai_chats
    ADD CONSTRAINT fk_ai_chats_user_id_users FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;
