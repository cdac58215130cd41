package scram_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ternmq/broker/packets"
)

const vecNonce = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"

// TestClientFirstMessages: what the first step accepts and refuses (RFC
// 5802 §5.1, §7). Refusals are NotAuthorized.
func TestClientFirstMessages(t *testing.T) {
	for _, tc := range []struct {
		name, msg string
		ok        bool
	}{
		{"vector", vecClientFirst, true},
		{"y flag: client supports channel binding, server does not", "y,,n=user,r=abc", true},
		{"authzid equal to the user", "n,a=user,n=user,r=abc", true},
		{"extension ignored", "n,,n=user,r=abc,x=ext", true},
		{"escaped user name", "n,,n=a=2Cb=3Dc,r=abc", true},
		{"empty", "", false},
		{"no gs2 header", "n=user,r=abc", false},
		{"channel binding p=", "p=tls-unique,,n=user,r=abc", false},
		{"unknown cbind flag", "x,,n=user,r=abc", false},
		{"gs2 header not terminated", "n,", false},
		{"authzid without a=", "n,user,n=user,r=abc", false},
		{"authzid of another user", "n,a=admin,n=user,r=abc", false},
		{"authzid bad escape", "n,a=us=er,n=user,r=abc", false},
		{"mandatory extension m=", "n,,m=ext,n=user,r=abc", false},
		{"no nonce", "n,,n=user", false},
		{"nonce first", "n,,r=abc,n=user", false},
		{"empty user name", "n,,n=,r=abc", false},
		{"'=' not followed by 2C or 3D", "n,,n=us=er,r=abc", false},
		{"'=' at the end", "n,,n=user=,r=abc", false},
		{"lower-case escape", "n,,n=a=2cb,r=abc", false},
		{"control character in user name", "n,,n=us\x01er,r=abc", false},
		{"invalid UTF-8", "n,,n=us\xffer,r=abc", false},
		{"empty nonce", "n,,n=user,r=", false},
		{"nonce with a space", "n,,n=user,r=a c", false},
		{"nonce with non-ASCII", "n,,n=user,r=é", false},
		{"empty extension", "n,,n=user,r=abc,", false},
		{"malformed extension", "n,,n=user,r=abc,xyz", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ex := begin(t, vectorAuthenticator(t), "")
			reply, done, err := ex.Next(context.Background(), []byte(tc.msg))
			if tc.ok {
				if err != nil || done || len(reply) == 0 {
					t.Fatalf("refused: %q %v %v", reply, done, err)
				}
				return
			}
			if !errors.Is(err, packets.NotAuthorized) || done || reply != nil {
				t.Fatalf("got %q %v %v, want NotAuthorized", reply, done, err)
			}
			// A failed exchange stays failed.
			if _, _, err := ex.Next(context.Background(), []byte(vecClientFinal)); !errors.Is(err, packets.NotAuthorized) {
				t.Fatalf("after failure: %v, want NotAuthorized", err)
			}
		})
	}
}

// TestClientFinalMessages: what the second step refuses, after the
// vector's client-first-message. A malformed message is NotAuthorized; a
// well-formed one with a wrong proof is BadUserNameOrPassword.
func TestClientFinalMessages(t *testing.T) {
	const proof = ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
	for _, tc := range []struct {
		name, msg string
		want      error
	}{
		{"vector", vecClientFinal, nil},
		{"empty", "", packets.NotAuthorized},
		{"no proof", "c=biws,r=" + vecNonce, packets.NotAuthorized},
		{"proof not base64", "c=biws,r=" + vecNonce + ",p=!!!!", packets.NotAuthorized},
		{"proof too short", "c=biws,r=" + vecNonce + ",p=AAAA", packets.NotAuthorized},
		{"proof unpadded", "c=biws,r=" + vecNonce + ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ", packets.NotAuthorized},
		{"no channel binding", "r=" + vecNonce + proof, packets.NotAuthorized},
		{"channel binding not base64", "c=b!ws,r=" + vecNonce + proof, packets.NotAuthorized},
		{"channel binding of y,, after n,,", "c=eSws,r=" + vecNonce + proof, packets.NotAuthorized},
		{"channel binding of p=", "c=cD10bHMtdW5pcXVlLCw=,r=" + vecNonce + proof, packets.NotAuthorized},
		{"no nonce", "c=biws" + proof, packets.NotAuthorized},
		{"client nonce only", "c=biws,r=rOprNGfwEbeRWgbNEkqO" + proof, packets.NotAuthorized},
		{"nonce extended", "c=biws,r=" + vecNonce + "x" + proof, packets.NotAuthorized},
		{"malformed extension", "c=biws,r=" + vecNonce + ",junk" + proof, packets.NotAuthorized},
		{"wrong proof", "c=biws,r=" + vecNonce + ",p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", packets.BadUserNameOrPassword},
		// An extension changes the AuthMessage, so the vector's proof no longer holds.
		{"extension changes the AuthMessage", "c=biws,r=" + vecNonce + ",x=1" + proof, packets.BadUserNameOrPassword},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ex := begin(t, vectorAuthenticator(t), "")
			if _, _, err := ex.Next(context.Background(), []byte(vecClientFirst)); err != nil {
				t.Fatal(err)
			}
			reply, done, err := ex.Next(context.Background(), []byte(tc.msg))
			if tc.want == nil {
				if err != nil || !done || string(reply) != vecServerFinal {
					t.Fatalf("got %q %v %v", reply, done, err)
				}
				return
			}
			if !errors.Is(err, tc.want) || done || reply != nil {
				t.Fatalf("got %q %v %v, want %v", reply, done, err, tc.want)
			}
		})
	}
}

// TestCancelledContext: an exchange whose context is done fails.
func TestCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ex := begin(t, vectorAuthenticator(t), "")
	if _, _, err := ex.Next(ctx, []byte(vecClientFirst)); err == nil {
		t.Fatal("cancelled exchange went on")
	}
}
