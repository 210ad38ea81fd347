import { Placeholder } from '@tiptap/extensions';
import { EditorContent, useEditor, useEditorState } from '@tiptap/react';
import StarterKit from '@tiptap/starter-kit';
import { useEffect, useImperativeHandle, type Ref } from 'react';

import { useConfirm } from '@/components/ui/confirm-dialog';

export interface EmailBodyEditorHandle {
  insertText: (text: string) => void;
  focus: () => void;
}

export interface EmailBodyEditorProps {
  value: string;
  onChange: (html: string) => void;
  labelledBy: string;
  describedBy?: string;
  invalid?: boolean;
  ref?: Ref<EmailBodyEditorHandle>;
}

function ToolbarButton({
  label,
  active,
  onClick,
  children,
}: {
  label: string;
  active: boolean;
  onClick: () => void;
  children: React.ReactNode;
}) {
  return (
    <button
      type="button"
      aria-label={label}
      aria-pressed={active}
      title={label}
      onMouseDown={(e) => e.preventDefault()}
      onClick={onClick}
      className={`min-w-8 rounded px-2 py-1 text-sm ${active ? 'bg-teal-100 text-teal-900' : 'text-slate-700 hover:bg-slate-100'}`}
    >
      {children}
    </button>
  );
}

/** The rich-text email body (TipTap); loaded on demand to keep the first page light. */
export default function EmailBodyEditor({
  value,
  onChange,
  labelledBy,
  describedBy,
  invalid,
  ref,
}: EmailBodyEditorProps) {
  const editor = useEditor({
    extensions: [
      StarterKit.configure({
        heading: { levels: [2, 3] },
        link: { openOnClick: false, autolink: true },
      }),
      Placeholder.configure({ placeholder: 'Hello {{ first_name }}, …' }),
    ],
    content: value,
    onUpdate: ({ editor: e }) => onChange(e.isEmpty ? '' : e.getHTML()),
    editorProps: {
      attributes: {
        class: 'rich-text',
        role: 'textbox',
        'aria-multiline': 'true',
        'aria-labelledby': labelledBy,
        ...(describedBy ? { 'aria-describedby': describedBy } : {}),
        ...(invalid ? { 'aria-invalid': 'true' } : {}),
      },
    },
  });

  // Keep validation state on the editable element in sync.
  useEffect(() => {
    if (!editor) return;
    editor.setOptions({
      editorProps: {
        attributes: {
          class: 'rich-text',
          role: 'textbox',
          'aria-multiline': 'true',
          'aria-labelledby': labelledBy,
          ...(describedBy ? { 'aria-describedby': describedBy } : {}),
          ...(invalid ? { 'aria-invalid': 'true' } : {}),
        },
      },
    });
  }, [editor, labelledBy, describedBy, invalid]);

  useImperativeHandle(
    ref,
    () => ({
      insertText: (text: string) => editor?.chain().focus().insertContent(text).run(),
      focus: () => editor?.commands.focus(),
    }),
    [editor],
  );

  const active = useEditorState({
    editor,
    selector: ({ editor: e }) => ({
      bold: e?.isActive('bold') ?? false,
      italic: e?.isActive('italic') ?? false,
      bullet: e?.isActive('bulletList') ?? false,
      ordered: e?.isActive('orderedList') ?? false,
      heading: e?.isActive('heading', { level: 2 }) ?? false,
      link: e?.isActive('link') ?? false,
    }),
  });

  const confirm = useConfirm();
  const setLink = async () => {
    if (!editor) return;
    const previous = editor.getAttributes('link').href as string | undefined;
    const url = await confirm.ask({
      title: previous ? 'Change the link' : 'Add a link',
      body: 'Leave the address empty to remove the link.',
      confirm: 'Apply',
      cancel: 'Cancel',
      input: { label: 'Link address (https://…)', initial: previous ?? 'https://' },
    });
    if (url === null) return;
    const href = url.trim();
    if (href === '' || href === 'https://') editor.chain().focus().unsetLink().run();
    else editor.chain().focus().extendMarkRange('link').setLink({ href }).run();
  };

  return (
    <div
      className={`rounded-md border bg-white shadow-sm focus-within:ring-1 focus-within:ring-teal-600 ${invalid ? 'border-red-600' : 'border-slate-300'}`}
    >
      <div
        role="toolbar"
        aria-label="Formatting"
        className="flex flex-wrap gap-1 border-b border-slate-200 p-1"
      >
        <ToolbarButton
          label="Bold"
          active={active?.bold ?? false}
          onClick={() => editor?.chain().focus().toggleBold().run()}
        >
          <strong>B</strong>
        </ToolbarButton>
        <ToolbarButton
          label="Italic"
          active={active?.italic ?? false}
          onClick={() => editor?.chain().focus().toggleItalic().run()}
        >
          <em>I</em>
        </ToolbarButton>
        <ToolbarButton
          label="Heading"
          active={active?.heading ?? false}
          onClick={() => editor?.chain().focus().toggleHeading({ level: 2 }).run()}
        >
          H
        </ToolbarButton>
        <ToolbarButton
          label="Bulleted list"
          active={active?.bullet ?? false}
          onClick={() => editor?.chain().focus().toggleBulletList().run()}
        >
          • List
        </ToolbarButton>
        <ToolbarButton
          // The name holds the visible text (WCAG 2.5.3, label in name).
          label="1. List (numbered)"
          active={active?.ordered ?? false}
          onClick={() => editor?.chain().focus().toggleOrderedList().run()}
        >
          1. List
        </ToolbarButton>
        <ToolbarButton label="Link" active={active?.link ?? false} onClick={() => void setLink()}>
          Link
        </ToolbarButton>
      </div>
      <EditorContent editor={editor} />
      {confirm.dialog}
    </div>
  );
}
