import { useState } from 'preact/hooks';

export function Login(props: { error: string | null; onToken: (token: string) => void }) {
  const [token, setToken] = useState('');
  return (
    <main class="login">
      <h1>failover-lab console</h1>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (token.trim()) props.onToken(token.trim());
        }}
      >
        <label for="token">Lab token</label>
        <input
          id="token"
          type="password"
          autocomplete="off"
          spellcheck={false}
          value={token}
          onInput={(e) => setToken((e.target as HTMLInputElement).value)}
          required
        />
        <button type="submit">Sign in</button>
        {props.error && (
          <p class="error" role="alert">
            {props.error}
          </p>
        )}
      </form>
      <p class="hint">
        The lab token is the <code>controlToken</code> in the lab's <code>.lab/secrets.json</code> (readable
        only by the user who runs the lab): <code>node -p 'require("./.lab/secrets.json").controlToken'</code>
        . You can also open the console as <code>…/#token=&lt;token&gt;</code>: the part after # never leaves
        the browser. The page keeps the token in memory only; a reload asks again.
      </p>
    </main>
  );
}
