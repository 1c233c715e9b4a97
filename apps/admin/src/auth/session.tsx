import { useQuery, useQueryClient } from '@tanstack/react-query';
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { api, setUnauthorizedHandler, tokenStore, unwrap, type Me, type Permission } from '../api/client';

interface Session {
  token: string | null;
  me: Me | undefined;
  loading: boolean;
  signIn(token: string): void;
  signOut(): void;
  /** Whether the signed-in token's role may do this (GET /api/v1/me). */
  can(permission: Permission): boolean;
}

const SessionContext = createContext<Session | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [token, setToken] = useState<string | null>(() => tokenStore.get());
  const queries = useQueryClient();
  const signOut = useCallback(() => {
    tokenStore.clear();
    setToken(null);
    queries.clear();
  }, [queries]);
  const signIn = useCallback((t: string) => {
    tokenStore.set(t);
    setToken(t);
  }, []);
  useEffect(() => setUnauthorizedHandler(signOut), [signOut]);
  const me = useQuery({
    queryKey: ['me', token],
    enabled: token !== null,
    retry: false,
    queryFn: async () => unwrap(await api.GET('/api/v1/me')),
  });
  const value = useMemo<Session>(
    () => ({
      token,
      me: me.data,
      loading: token !== null && me.isPending,
      signIn,
      signOut,
      can: (p) => me.data?.permissions.includes(p) ?? false,
    }),
    [token, me.data, me.isPending, signIn, signOut],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside SessionProvider');
  return session;
}
