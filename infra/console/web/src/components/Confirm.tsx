// One confirmation dialog for every destructive action: a native modal <dialog> (focus trapped, Esc
// cancels, announced as a dialog), with the action spelled out on the confirm button.
import { useRef, useState } from 'preact/hooks';

export interface ConfirmRequest {
  title: string;
  body: string;
  confirmLabel: string;
}

export function useConfirm() {
  const dialog = useRef<HTMLDialogElement>(null);
  const [request, setRequest] = useState<ConfirmRequest | null>(null);
  const resolver = useRef<((ok: boolean) => void) | null>(null);

  const ask = (r: ConfirmRequest) =>
    new Promise<boolean>((resolve) => {
      resolver.current = resolve;
      setRequest(r);
      queueMicrotask(() => dialog.current?.showModal());
    });
  const answer = (ok: boolean) => {
    dialog.current?.close();
    resolver.current?.(ok);
    resolver.current = null;
  };

  const element = (
    <dialog ref={dialog} class="confirm" aria-labelledby="confirm-title" onCancel={() => answer(false)}>
      {request && (
        <form
          method="dialog"
          onSubmit={(e) => {
            e.preventDefault();
            answer(true);
          }}
        >
          <h2 id="confirm-title">{request.title}</h2>
          <p>{request.body}</p>
          <div class="row end">
            <button type="button" onClick={() => answer(false)}>
              Cancel
            </button>
            <button type="submit" class="danger">
              {request.confirmLabel}
            </button>
          </div>
        </form>
      )}
    </dialog>
  );
  return { ask, element };
}
