// An injected wallet for the end-to-end tests: a real EIP-1193 provider announced by
// EIP-6963, whose accounts, signatures and transactions are viem's (a local account signing
// for the devnet's RPC endpoint), as a browser extension's would be. The page sees only
// `window`'s provider object; each request crosses to this Node process, which answers it
// the way a wallet does: it starts on another chain, switches when asked, can reject the
// next request as a person would, and can change accounts.

import { createPublicClient, createWalletClient, defineChain, http, toHex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';

// Requests a person confirms in a wallet's window.
const PROMPTS = new Set([
  'eth_requestAccounts', 'eth_sendTransaction', 'eth_signTypedData_v4', 'personal_sign',
  'wallet_switchEthereumChain', 'wallet_addEthereumChain',
]);

export const WALLET_NAME = 'Test Wallet (viem)';

class RpcError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

export class TestWallet {
  // `config` is the app's config.json: the devnet's chain, RPC endpoint and funded keys.
  constructor(config, { startChainId = 1 } = {}) {
    this.chain = defineChain({
      id: config.chainId,
      name: config.chainName || 'Tessera devnet',
      nativeCurrency: { name: 'CNX', symbol: 'CNX', decimals: 18 },
      rpcUrls: { default: { http: [config.rpcUrl] } },
    });
    this.accounts = config.devAccounts.map((a) => privateKeyToAccount(a.key));
    this.account = this.accounts[this.accounts.length - 1];
    this.chainId = startChainId;
    this.public = createPublicClient({ chain: this.chain, transport: http(config.rpcUrl) });
    this.wallet = createWalletClient({ chain: this.chain, transport: http(config.rpcUrl) });
    this.rejectNext = false;
    this.prompts = [];
    this.pages = new Set();
  }

  // Installs the provider in every page of `context` (before the app's scripts run).
  async install(context) {
    await context.exposeFunction('__testWalletRequest', async (json) => {
      try {
        return JSON.stringify({ result: await this.request(JSON.parse(json)) });
      } catch (e) {
        return JSON.stringify({ error: { code: e.code ?? -32603, message: e.shortMessage || e.message } });
      }
    });
    await context.addInitScript(({ name }) => {
      const listeners = {};
      const provider = {
        async request({ method, params }) {
          const answer = JSON.parse(await window.__testWalletRequest(JSON.stringify({ method, params: params ?? [] })));
          if (answer.error) {
            const error = new Error(answer.error.message);
            error.code = answer.error.code;
            throw error;
          }
          return answer.result;
        },
        on(event, listener) { (listeners[event] ||= []).push(listener); return provider; },
        removeListener(event, listener) {
          listeners[event] = (listeners[event] || []).filter((l) => l !== listener);
          return provider;
        },
      };
      window.__testWalletEmit = (event, value) => (listeners[event] || []).forEach((l) => l(value));
      const info = {
        uuid: '0b1e4a53-1c1f-4c8e-9d1a-7e55a0d0b2c1',
        name,
        icon: 'data:image/svg+xml,%3Csvg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"%3E%3Crect width="8" height="8"/%3E%3C/svg%3E',
        rdns: 'org.tessera.test-wallet',
      };
      const announce = () => window.dispatchEvent(new CustomEvent('eip6963:announceProvider', {
        detail: Object.freeze({ info, provider }),
      }));
      window.addEventListener('eip6963:requestProvider', announce);
      announce();
    }, { name: WALLET_NAME });
    context.on('page', (p) => this.pages.add(p));
  }

  async emit(event, value) {
    for (const p of this.pages) {
      if (!p.isClosed()) await p.evaluate(([e, v]) => window.__testWalletEmit(e, v), [event, value]);
    }
  }

  // Switches to account `i` of the devnet's, as a person does in the wallet's window.
  async useAccount(i) {
    this.account = this.accounts[i];
    await this.emit('accountsChanged', [this.account.address]);
  }

  // Disconnects the site, as a person does in the wallet's window.
  async revoke() {
    await this.emit('accountsChanged', []);
  }

  async request({ method, params }) {
    if (PROMPTS.has(method)) {
      this.prompts.push(method);
      if (this.rejectNext) {
        this.rejectNext = false;
        throw new RpcError(4001, 'User rejected the request.');
      }
    }
    switch (method) {
      case 'eth_requestAccounts':
      case 'eth_accounts':
        return [this.account.address];
      case 'eth_chainId':
        return toHex(this.chainId);
      case 'wallet_switchEthereumChain': {
        const id = Number(params[0].chainId);
        if (id !== this.chain.id) throw new RpcError(4902, `Unrecognized chain ID ${params[0].chainId}`);
        this.chainId = id;
        await this.emit('chainChanged', toHex(id));
        return null;
      }
      case 'wallet_addEthereumChain':
        throw new RpcError(4200, 'this wallet knows only the devnet');
      case 'personal_sign':
        return this.account.signMessage({ message: { raw: params[0] } });
      case 'eth_signTypedData_v4': {
        const data = typeof params[1] === 'string' ? JSON.parse(params[1]) : params[1];
        const { EIP712Domain, ...types } = data.types;
        return this.account.signTypedData({
          domain: data.domain, types, primaryType: data.primaryType, message: data.message,
        });
      }
      case 'eth_sendTransaction': {
        if (this.chainId !== this.chain.id) throw new RpcError(4901, 'the wallet is on another chain');
        const tx = params[0];
        if (tx.from && tx.from.toLowerCase() !== this.account.address.toLowerCase()) {
          throw new RpcError(4100, `${tx.from} is not the selected account`);
        }
        return this.wallet.sendTransaction({
          account: this.account,
          to: tx.to,
          data: tx.data,
          value: tx.value ? BigInt(tx.value) : 0n,
          gas: tx.gas ? BigInt(tx.gas) : undefined,
        });
      }
      default:
        return this.public.request({ method, params });
    }
  }
}
